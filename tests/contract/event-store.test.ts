import assert from "node:assert/strict";
import { Conflict } from "../../domain/errors.ts";
import { openPostgresEventStore } from "../../adapters/postgres/postgres-event-store.ts";
import type { EventStore } from "../../domain/ports/event-store.ts";
import type { SqlClient } from "../../adapters/postgres/sql-client.ts";
import { eventStoreContract } from "./event-store.contract.ts";
import { component } from "../support/component.ts";
import { freshSchema, scratchPglite, testPostgresUrl } from "../support/postgres.ts";

// PGlite takes a second to open, so the cases share one instance; each case
// has its own streams and reads only those.
let pglite: Promise<EventStore> | undefined;
eventStoreContract("event store on PGlite", async () => {
  pglite ??= scratchPglite().then((sql) => openPostgresEventStore(sql));
  return { store: await pglite, cleanup: () => Promise.resolve() };
});

// The program's embedded store: the same database in a Worker of its own.
let pgliteWorker: Promise<{ store: EventStore; sql: SqlClient }> | undefined;
eventStoreContract("event store on PGlite in a Worker", async () => {
  pgliteWorker ??= scratchPglite({ worker: true }).then(async (sql) => ({
    sql,
    store: await openPostgresEventStore(sql),
  }));
  return { store: (await pgliteWorker).store, cleanup: () => Promise.resolve() };
});
globalThis.addEventListener("unload", () => void pgliteWorker?.then(({ sql }) => sql.close()));

// Beyond the contract: on Postgres appendMany is one transaction, so a conflict in its
// last stream leaves the earlier ones unappended too.
Deno.test({
  name: "event store on PGlite: appendMany is all or nothing",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  pglite ??= scratchPglite().then((sql) => openPostgresEventStore(sql));
  const store = await pglite;
  const [a, b] = [`atomic-a-${crypto.randomUUID()}`, `atomic-b-${crypto.randomUUID()}`];
  const event = (type: string) => ({ id: crypto.randomUUID(), type, data: {}, metadata: {} });
  await store.append(b, [event("B0")], { expectedRevision: "no_stream" });
  await assert.rejects(
    store.appendMany([
      { streamId: a, events: [event("A0")], expectedRevision: "no_stream" },
      { streamId: b, events: [event("B1")], expectedRevision: "no_stream" },
    ]),
    Conflict,
  );
  assert.deepEqual(await store.readStream(a), [], "the stream before the conflict got nothing");
  assert.equal((await store.readStream(b)).length, 1);
});

const postgresUrl = testPostgresUrl();
if (postgresUrl !== undefined) {
  const url = postgresUrl;
  eventStoreContract("event store on Postgres", async () => {
    const { sql, drop } = await freshSchema(url);
    const store = await openPostgresEventStore(sql, { pollIntervalMs: 50 });
    return { store, cleanup: drop };
  });
}

const eventStoreDb = component(
  "EventStoreDB",
  Deno.env.get("EVENTSTORE_URL"),
  "set EVENTSTORE_URL=esdb://localhost:2113?tls=false (docker compose up eventstore)",
  { requiredInCi: false },
);
if (eventStoreDb.url !== undefined) {
  const url = eventStoreDb.url;
  eventStoreContract("event store on EventStoreDB", async () => {
    const { openEventStoreDb } = await import("../../adapters/eventstoredb/eventstoredb-event-store.ts");
    const store = openEventStoreDb({ url });
    return { store, cleanup: () => store.close() };
  });
}

// Two stores on one database that do not poll (the program's threads on its PGlite):
// an append through one wakes the other's subscription through their peers channel.
Deno.test({
  name: "event store on PGlite: an append wakes the subscriptions of a peer store",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const sql = await scratchPglite();
  const peers = `lookout-events:test-${crypto.randomUUID()}`;
  const writer = await openPostgresEventStore(sql, { pollIntervalMs: Infinity, peers });
  const reader = await openPostgresEventStore(sql, { pollIntervalMs: Infinity, peers });
  const abort = new AbortController();
  try {
    const [newest] = await reader.readAll({ maxCount: 1_000_000 }).then((all) => all.slice(-1));
    const events = reader.subscribe({ after: newest?.position, signal: abort.signal })
      [Symbol.asyncIterator]();
    const next = events.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stream = `peers-${crypto.randomUUID()}`;
    await writer.append(stream, [{ id: crypto.randomUUID(), type: "Woken", data: {}, metadata: {} }], {
      expectedRevision: "no_stream",
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const got = await Promise.race([
      next,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("not woken")), 5_000)),
    ]);
    clearTimeout(timer);
    assert.equal(got.value?.streamId, stream);
  } finally {
    abort.abort();
    await writer.close();
    await reader.close();
    await sql.close();
  }
});
