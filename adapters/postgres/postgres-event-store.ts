/**
 * The event store on Postgres: PGlite embedded (the default, under LOOKOUT_DATA_DIR) or
 * a Postgres server, through the same SQL. One table of events keyed by position, with
 * (stream, revision) and (stream, event id) unique, and one row per stream holding its
 * last revision.
 *
 * Appends take a transaction-scoped advisory lock, so positions become visible in the
 * order they were assigned: a reader that has seen position n never later finds an
 * event below n, and a subscription can resume from the last position it delivered.
 * Rule changes are a few per second; an incident storm's transitions arrive as one
 * `appendMany` per evaluation round, so one lock and a handful of statements cover them.
 *
 * @example
 * const store = await openPostgresEventStore(await openPglite({ dataDir }));
 */
import type {
  AppendResult,
  EventStore,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
  StreamAppend,
  SubscribeOptions,
} from "../../domain/ports/event-store.ts";
import type { SqlClient, SqlExecutor } from "./sql-client.ts";
import { pollingSubscription } from "./polling-subscription.ts";
import { checkExpected, retried, type SeenRow, validate } from "./append-checks.ts";

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
  /**
   * How often a subscription looks for events appended by other processes (default
   * 250 ms); `Infinity` where no other process can write the database (PGlite, owned by
   * this one), so an idle subscription wakes only on this process's appends.
   */
  readonly pollIntervalMs?: number;
  /**
   * A channel name shared by the stores on this database within the process (one per
   * thread): an append through any of them wakes the subscriptions of all.
   */
  readonly peers?: string;
}

export async function openPostgresEventStore(
  sql: SqlClient,
  options: PostgresEventStoreOptions = {},
): Promise<EventStore> {
  await sql.exec(SCHEMA);
  const appended = new EventTarget();
  const peers = options.peers === undefined ? undefined : new BroadcastChannel(options.peers);
  if (peers) peers.onmessage = () => appended.dispatchEvent(new Event("append"));
  const store: EventStore = {
    async append(streamId, events, { expectedRevision }) {
      const [result] = await store.appendMany([{ streamId, events, expectedRevision }]);
      return result;
    },
    async appendMany(appends) {
      if (appends.length === 0) return [];
      validate(appends);
      const results = await sql.transaction((tx) => appendLocked(tx, appends));
      appended.dispatchEvent(new Event("append"));
      peers?.postMessage(null);
      return results;
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
    async readStreams(streamIds) {
      if (streamIds.length === 0) return [];
      const rows = await sql.query<EventRow>(
        `select ${COLUMNS} from es_events where stream_id = any($1::text[]) order by stream_id, es_events.revision`,
        [streamIds],
      );
      const byStream = new Map(streamIds.map((id) => [id, [] as StoredEvent[]]));
      for (const row of rows) byStream.get(row.stream_id)?.push(toStored(row));
      return streamIds.map((id) => byStream.get(id)!);
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
    close: () => {
      peers?.close();
      return Promise.resolve();
    },
  };
  return store;
}

/**
 * Every stream's append in one transaction with a fixed number of statements, however
 * many streams: an evaluation round's incidents cost one lock, one look-up of retried
 * ids, one of revisions, one insert and one upsert.
 */
async function appendLocked(tx: SqlExecutor, appends: readonly StreamAppend[]): Promise<AppendResult[]> {
  await tx.query("select pg_advisory_xact_lock($1)", [APPEND_LOCK]);
  const streamOf = appends.flatMap((a) => a.events.map(() => a.streamId));
  const ids = appends.flatMap((a) => a.events.map((e) => e.id));
  const seen = await tx.query<SeenRow>(
    `select e.stream_id, e.event_id::text as event_id, e.revision::float8 as revision, e.position::text as position
     from es_events e join unnest($1::text[], $2::uuid[]) as w(stream_id, event_id)
       on e.stream_id = w.stream_id and e.event_id = w.event_id
     order by e.stream_id, e.revision`,
    [streamOf, ids],
  );
  const current = new Map(
    (await tx.query<{ stream_id: string; revision: number }>(
      "select stream_id, revision::float8 as revision from es_streams where stream_id = any($1::text[])",
      [appends.map((a) => a.streamId)],
    )).map((row) => [row.stream_id, row.revision]),
  );
  const results: (AppendResult | number)[] = appends.map(({ streamId, events, expectedRevision }) => {
    const retry = seen.filter((row) => row.stream_id === streamId);
    if (retry.length > 0) return retried(streamId, events.map((e) => e.id), retry);
    checkExpected(streamId, current.get(streamId), expectedRevision);
    return (current.get(streamId) ?? -1) + 1;
  });
  const fresh = appends.flatMap((a, i) => {
    const first = results[i];
    return typeof first === "number"
      ? a.events.map((e, k) => ({ streamId: a.streamId, revision: first + k, e }))
      : [];
  });
  if (fresh.length === 0) return results as AppendResult[];
  const rows = await tx.query<{ stream_id: string; revision: number; position: string }>(
    `insert into es_events (stream_id, revision, event_id, type, data, metadata)
     select stream_id, revision, id, type, data::jsonb, metadata::jsonb
     from unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[])
       with ordinality as e(stream_id, revision, id, type, data, metadata, ord)
     order by ord
     returning stream_id, revision::float8 as revision, position::text as position`,
    [
      fresh.map((f) => f.streamId),
      fresh.map((f) => f.revision),
      fresh.map((f) => f.e.id),
      fresh.map((f) => f.e.type),
      fresh.map((f) => JSON.stringify(f.e.data)),
      fresh.map((f) => JSON.stringify(f.e.metadata)),
    ],
  );
  const last = new Map<string, { revision: number; position: bigint }>();
  for (const row of rows) {
    const position = BigInt(row.position);
    const before = last.get(row.stream_id);
    if (before === undefined || before.revision < row.revision) {
      last.set(row.stream_id, { revision: row.revision, position });
    }
  }
  await tx.query(
    `insert into es_streams (stream_id, revision) select * from unnest($1::text[], $2::bigint[])
     on conflict (stream_id) do update set revision = excluded.revision`,
    [[...last.keys()], [...last.values()].map((l) => l.revision)],
  );
  return results.map((result, i) => {
    if (typeof result !== "number") return result;
    const { revision, position } = last.get(appends[i].streamId)!;
    return { nextExpectedRevision: revision, position };
  });
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
