/**
 * The event store on Postgres: PGlite embedded (the default, under LOOKOUT_DATA_DIR) or
 * a Postgres server, through the same SQL. One table of events keyed by position, with
 * (stream, revision) and (stream, event id) unique, and one row per stream holding its
 * last revision.
 *
 * Appends take a transaction-scoped advisory lock, so positions become visible in the
 * order they were assigned: a reader that has seen position n never later finds an
 * event below n, and a subscription can resume from the last position it delivered.
 * Rule and incident changes are a few per second, far below what one lock serialises.
 *
 * @example
 * const store = await openPostgresEventStore(await openPglite({ dataDir }));
 */
import { Conflict, ValidationError } from "../../domain/errors.ts";
import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
  SubscribeOptions,
} from "../../domain/ports/event-store.ts";
import type { SqlClient, SqlExecutor } from "./sql-client.ts";
import { pollingSubscription } from "./polling-subscription.ts";

const SCHEMA = `
create table if not exists es_streams (
  stream_id text primary key,
  revision bigint not null
);
create table if not exists es_events (
  position bigserial primary key,
  stream_id text not null,
  revision bigint not null,
  event_id uuid not null,
  type text not null,
  data jsonb not null,
  metadata jsonb not null,
  recorded_at timestamptz not null default clock_timestamp(),
  unique (stream_id, revision),
  unique (stream_id, event_id)
);`;

/** Any constant: the key of the advisory lock that serialises appends. */
const APPEND_LOCK = 4_715_300_001;
const COLUMNS =
  `position::text as position, stream_id, revision::float8 as revision, event_id::text as event_id,
  type, data, metadata, (extract(epoch from recorded_at) * 1000)::float8 as recorded_at`;
const DEFAULT_MAX_COUNT = 4096;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface EventRow {
  position: string;
  stream_id: string;
  revision: number;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  recorded_at: number;
}

export interface PostgresEventStoreOptions {
  /** How often a subscription looks for events appended by other processes. */
  readonly pollIntervalMs?: number;
}

export async function openPostgresEventStore(
  sql: SqlClient,
  options: PostgresEventStoreOptions = {},
): Promise<EventStore> {
  await sql.exec(SCHEMA);
  const appended = new EventTarget();
  const store: EventStore = {
    async append(streamId, events, { expectedRevision }) {
      if (events.length === 0) {
        throw new ValidationError(`Cannot append to stream ${streamId}: no events given`);
      }
      const bad = events.find((e) => !UUID.test(e.id));
      if (bad) {
        throw new ValidationError(`Cannot append to stream ${streamId}: event id "${bad.id}" is not a UUID`);
      }
      const result = await sql.transaction((tx) => appendLocked(tx, streamId, events, expectedRevision));
      appended.dispatchEvent(new Event("append"));
      return result;
    },
    async readStream(streamId, options: ReadStreamOptions = {}) {
      const backwards = options.direction === "backwards";
      const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
      const rows = await sql.query<EventRow>(
        `select ${COLUMNS} from es_events where stream_id = $1 and revision ${backwards ? "<=" : ">="} $2
         order by es_events.revision ${backwards ? "desc" : "asc"} limit $3`,
        [streamId, from, options.maxCount ?? DEFAULT_MAX_COUNT],
      );
      return rows.map(toStored);
    },
    async readAll(options: ReadAllOptions = {}) {
      const rows = await sql.query<EventRow>(
        `select ${COLUMNS} from es_events where es_events.position > $1 order by es_events.position limit $2`,
        [String(options.after ?? -1n), options.maxCount ?? DEFAULT_MAX_COUNT],
      );
      return rows.map(toStored);
    },
    subscribe: (subscribe: SubscribeOptions) =>
      pollingSubscription({
        ...subscribe,
        read: (after) => store.readAll({ after, maxCount: 512 }),
        wakeups: appended,
        pollIntervalMs: options.pollIntervalMs ?? 250,
      }),
    close: () => Promise.resolve(),
  };
  return store;
}

async function appendLocked(
  tx: SqlExecutor,
  streamId: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): Promise<AppendResult> {
  await tx.query("select pg_advisory_xact_lock($1)", [APPEND_LOCK]);
  const ids = events.map((e) => e.id);
  const seen = await tx.query<{ event_id: string; revision: number; position: string }>(
    `select event_id::text as event_id, revision::float8 as revision, position::text as position
     from es_events where stream_id = $1 and event_id = any($2::uuid[]) order by revision`,
    [streamId, ids],
  );
  if (seen.length > 0) return retried(streamId, ids, seen);
  const [stream] = await tx.query<{ revision: number }>(
    "select revision::float8 as revision from es_streams where stream_id = $1",
    [streamId],
  );
  checkExpected(streamId, stream?.revision, expected);
  const first = (stream?.revision ?? -1) + 1;
  const rows = await tx.query<{ position: string }>(
    `insert into es_events (stream_id, revision, event_id, type, data, metadata)
     select $1, base + ord - 1, id, type, data::jsonb, metadata::jsonb
     from unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) with ordinality as e(id, type, data, metadata, ord),
          (select $6::bigint as base) b
     order by ord
     returning position::text as position`,
    [
      streamId,
      ids,
      events.map((e) => e.type),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => JSON.stringify(e.metadata)),
      first,
    ],
  );
  const last = first + events.length - 1;
  await tx.query(
    `insert into es_streams (stream_id, revision) values ($1, $2)
     on conflict (stream_id) do update set revision = excluded.revision`,
    [streamId, last],
  );
  return { nextExpectedRevision: last, position: BigInt(rows[rows.length - 1].position) };
}

/** The same events appended again: answer as the first append did, or refuse a partial overlap. */
function retried(
  streamId: string,
  ids: readonly string[],
  seen: readonly { event_id: string; revision: number; position: string }[],
): AppendResult {
  const inOrder = seen.length === ids.length &&
    seen.every((row, i) => row.event_id === ids[i].toLowerCase() && row.revision === seen[0].revision + i);
  if (!inOrder) {
    throw new Conflict(
      `Cannot append to stream ${streamId}: ${seen.length} of the ${ids.length} events were appended before, not as one append`,
    );
  }
  const last = seen[seen.length - 1];
  return { nextExpectedRevision: last.revision, position: BigInt(last.position) };
}

function checkExpected(streamId: string, current: number | undefined, expected: ExpectedRevision): void {
  const ok = expected === "any" ||
    (expected === "no_stream" && current === undefined) ||
    (expected === "stream_exists" && current !== undefined) ||
    (typeof expected === "number" && current === expected);
  if (!ok) {
    const actual = current === undefined ? "does not exist" : `is at revision ${current}`;
    throw new Conflict(
      `Cannot append to stream ${streamId}: expected ${describe(expected)}, but the stream ${actual}`,
    );
  }
}

function describe(expected: ExpectedRevision): string {
  return typeof expected === "number" ? `revision ${expected}` : expected.replace("_", " ");
}

function toStored(row: EventRow): StoredEvent {
  return {
    id: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    revision: row.revision,
    position: BigInt(row.position) as Position,
    recordedAt: row.recorded_at,
  };
}
