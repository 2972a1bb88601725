/**
 * The event store port: named streams of events with per-stream revisions and one
 * global order. Implemented on Postgres (PGlite embedded, a Postgres server
 * distributed) and on EventStoreDB; one contract suite
 * (`tests/contract/event-store.contract.ts`) runs against each.
 *
 * - Revisions count from 0 within a stream. `expectedRevision` is the revision of the
 *   stream's last event as the caller saw it (or `no_stream`, `stream_exists`, `any`);
 *   any other state of the stream fails the append with `Conflict`.
 * - Event ids are UUIDs. Appending events whose ids are already the stream's events
 *   (a retry) appends nothing and answers as the first append did.
 * - Positions order every event of every stream; a later append has a greater position.
 *   `readAll` and `subscribe` deliver events after a position, in that order.
 * - `appendMany` appends to several streams at once, each with its own expected
 *   revision and the same retry rule; a stream may appear once per call. Where the
 *   store has multi-stream transactions (Postgres) it is all or nothing: one conflict
 *   appends none of them. Where it has not (EventStoreDB) it is the appends in order,
 *   and those before a conflict stay appended; retrying the call is safe either way.
 *
 * @example
 * const { nextExpectedRevision } = await store.append("rule-r1", [event], { expectedRevision: "no_stream" });
 * for await (const event of store.subscribe({ after: checkpoint, signal })) project(event);
 */
export type Position = bigint;

export type ExpectedRevision = "any" | "no_stream" | "stream_exists" | number;

export interface NewEvent {
  readonly id: string;
  readonly type: string;
  /** A JSON object. */
  readonly data: object;
  /** A JSON object. */
  readonly metadata: object;
}

export interface StoredEvent extends NewEvent {
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly streamId: string;
  readonly revision: number;
  readonly position: Position;
  /** When the store recorded the event, ms since the epoch (the store's clock). */
  readonly recordedAt: number;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append: the next `expectedRevision`. */
  readonly nextExpectedRevision: number;
  /** Position of the last event appended. */
  readonly position: Position;
}

/** One stream's part of an `appendMany`. */
export interface StreamAppend {
  readonly streamId: string;
  readonly events: readonly NewEvent[];
  readonly expectedRevision: ExpectedRevision;
}

export interface ReadStreamOptions {
  readonly direction?: "forwards" | "backwards";
  /** First revision to read (inclusive); the stream's start (or end, backwards) by default. */
  readonly fromRevision?: number;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Only events after this position; from the beginning by default. */
  readonly after?: Position;
  readonly maxCount?: number;
}

export interface SubscribeOptions {
  readonly after?: Position;
  /** Ends the subscription. */
  readonly signal: AbortSignal;
}

export interface EventStore {
  append(
    streamId: string,
    events: readonly NewEvent[],
    options: { readonly expectedRevision: ExpectedRevision },
  ): Promise<AppendResult>;
  /** Appends to each stream as `append` would; the results in the order of `appends`. */
  appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]>;
  /** The stream's events; a stream that does not exist reads as empty. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  /**
   * Several whole streams at once (the events of each, as `readStream` reads them
   * forwards), in the order of `streamIds`: one round trip where the store allows it.
   */
  readStreams(streamIds: readonly string[]): Promise<StoredEvent[][]>;
  /** Events of every stream in position order (the store's own system events excluded). */
  readAll(options?: ReadAllOptions): Promise<StoredEvent[]>;
  /** Events after a position, then each new one as it is appended, until the signal aborts. */
  subscribe(options: SubscribeOptions): AsyncIterable<StoredEvent>;
  close(): Promise<void>;
}
