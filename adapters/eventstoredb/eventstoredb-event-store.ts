/**
 * The event store on EventStoreDB/KurrentDB (`@eventstore/db-client`), for the
 * distributed deployment. Maps the port onto the client: revisions are the client's
 * bigint revisions as numbers, a position is the commit position of `$all`, a
 * wrong-expected-version becomes `Conflict`, a missing stream reads as empty, and the
 * server's own `$` events are left out of `readAll` and `subscribe`.
 *
 * @example
 * const store = openEventStoreDb({ url: "esdb://localhost:2113?tls=false" });
 */
import {
  ANY,
  BACKWARDS,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  type ResolvedEvent,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import { Conflict, Unavailable, ValidationError } from "../../domain/errors.ts";
import type {
  EventStore,
  ExpectedRevision,
  NewEvent,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
  SubscribeOptions,
} from "../../domain/ports/event-store.ts";

export interface EventStoreDbOptions {
  /** A connection string such as `esdb://localhost:2113?tls=false`. */
  readonly url: string;
}

type Recorded = NonNullable<ResolvedEvent["event"]>;

export function openEventStoreDb(options: EventStoreDbOptions): EventStore {
  const client = EventStoreDBClient.connectionString(options.url);
  const store: EventStore = {
    async append(streamId, events, { expectedRevision }) {
      if (events.length === 0) {
        throw new ValidationError(`Cannot append to stream ${streamId}: no events given`);
      }
      try {
        const result = await client.appendToStream(streamId, events.map(toEventData), {
          expectedRevision: toExpected(expectedRevision),
        });
        return {
          nextExpectedRevision: Number(result.nextExpectedRevision),
          position: result.position?.commit ?? -1n,
        };
      } catch (error) {
        throw translate(error, `append to stream ${streamId}`);
      }
    },
    /**
     * EventStoreDB has no transaction across streams, so this is one append after
     * another: a conflict stops it with the earlier streams appended. Each append is
     * idempotent by event id, so the caller retries the whole call.
     */
    async appendMany(appends) {
      const twice = appends.find((a, i) => appends.findIndex((b) => b.streamId === a.streamId) !== i);
      if (twice) {
        throw new ValidationError(
          `Cannot append to stream ${twice.streamId}: it appears twice in one appendMany`,
        );
      }
      const results = [];
      for (const { streamId, events, expectedRevision } of appends) {
        results.push(await store.append(streamId, events, { expectedRevision }));
      }
      return results;
    },
    async readStream(streamId, read: ReadStreamOptions = {}) {
      const backwards = read.direction === "backwards";
      const events: StoredEvent[] = [];
      try {
        for await (
          const resolved of client.readStream(streamId, {
            direction: backwards ? BACKWARDS : FORWARDS,
            fromRevision: read.fromRevision === undefined
              ? (backwards ? END : START)
              : BigInt(read.fromRevision),
            maxCount: read.maxCount ?? Number.MAX_SAFE_INTEGER,
          })
        ) {
          if (resolved.event) events.push(toStored(resolved.event));
        }
      } catch (error) {
        if (error instanceof StreamNotFoundError) return [];
        throw translate(error, `read stream ${streamId}`);
      }
      return events;
    },
    /** One read per stream: EventStoreDB reads a stream at a time. */
    async readStreams(streamIds) {
      const streams = [];
      for (const streamId of streamIds) streams.push(await store.readStream(streamId));
      return streams;
    },
    async readAll(read: ReadAllOptions = {}) {
      const after = read.after;
      const maxCount = read.maxCount ?? 4096;
      const events: StoredEvent[] = [];
      // fromPosition is inclusive and $all holds system events, so read past both.
      for await (
        const resolved of client.readAll({
          direction: FORWARDS,
          fromPosition: after === undefined ? START : { commit: after, prepare: after },
          maxCount: maxCount + 1_000,
        })
      ) {
        const event = resolved.event;
        if (!event || isSystem(event) || (after !== undefined && (event.position?.commit ?? 0n) <= after)) {
          continue;
        }
        events.push(toStored(event));
        if (events.length === maxCount) break;
      }
      return events;
    },
    subscribe(subscribe: SubscribeOptions) {
      return subscription(client, subscribe);
    },
    async close() {
      await client.dispose();
    },
  };
  return store;
}

async function* subscription(
  client: EventStoreDBClient,
  options: SubscribeOptions,
): AsyncGenerator<StoredEvent> {
  const { after, signal } = options;
  const stream = client.subscribeToAll({
    fromPosition: after === undefined ? START : { commit: after, prepare: after },
    filter: excludeSystemEvents(),
  });
  const stop = () => void stream.unsubscribe();
  signal.addEventListener("abort", stop);
  try {
    for await (const resolved of stream) {
      if (signal.aborted) return;
      const event = resolved.event;
      if (!event || isSystem(event) || (after !== undefined && (event.position?.commit ?? 0n) <= after)) {
        continue;
      }
      yield toStored(event);
    }
  } finally {
    signal.removeEventListener("abort", stop);
    await stream.unsubscribe();
  }
}

/** Driver errors the caller can act on become domain errors; the rest stay as they are. */
function translate(error: unknown, action: string): unknown {
  if (error instanceof WrongExpectedVersionError) return new Conflict(`Cannot ${action}: ${error.message}`);
  // gRPC status 14 (UNAVAILABLE) arrives unwrapped when no connection was ever made.
  const grpcUnavailable = (error as { code?: unknown } | null)?.code === 14;
  if (error instanceof UnavailableError || error instanceof DeadlineExceededError || grpcUnavailable) {
    return new Unavailable(
      `Cannot ${action}: EventStoreDB is unreachable (${error instanceof Error ? error.message : error})`,
    );
  }
  return error;
}

function toEventData(event: NewEvent) {
  return jsonEvent({
    id: event.id,
    type: event.type,
    data: event.data as Record<string, unknown>,
    metadata: event.metadata as Record<string, unknown>,
  });
}

function toExpected(expected: ExpectedRevision) {
  switch (expected) {
    case "any":
      return ANY;
    case "no_stream":
      return NO_STREAM;
    case "stream_exists":
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
}

function isSystem(event: Recorded): boolean {
  return event.type.startsWith("$") || event.streamId.startsWith("$");
}

function toStored(event: Recorded): StoredEvent {
  return {
    id: event.id,
    type: event.type,
    data: (event.isJson ? event.data : {}) as Record<string, unknown>,
    metadata: (event.metadata ?? {}) as Record<string, unknown>,
    streamId: event.streamId,
    revision: Number(event.revision),
    position: (event.position?.commit ?? -1n) as Position,
    recordedAt: event.created.getTime(),
  };
}
