/**
 * The event-store contract: every `EventStore` (Postgres on PGlite, Postgres server,
 * EventStoreDB) must pass these cases. Streams get unique names per case, and `readAll`
 * is filtered to the case's streams, so a shared server can run the suite too.
 *
 * @example
 * eventStoreContract("pglite", async () => {
 *   const sql = await openPglite();
 *   return { store: await openPostgresEventStore(sql), cleanup: () => sql.close() };
 * });
 */
import assert from "node:assert/strict";
import { Conflict, ValidationError } from "../../domain/errors.ts";
import type { EventStore, NewEvent, StoredEvent } from "../../domain/ports/event-store.ts";
import { appendManyContract } from "./event-store-many.contract.ts";

export type EventStoreFactory = () => Promise<{ store: EventStore; cleanup: () => Promise<void> }>;

/** Only reached when an implementation is broken. */
const DELIVERY_TIMEOUT_MS = 5_000;

export function eventStoreContract(name: string, factory: EventStoreFactory): void {
  const contractCase = (
    title: string,
    body: (store: EventStore, stream: (label: string) => string) => Promise<void>,
  ) =>
    Deno.test({
      name: `${name}: ${title}`,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const { store, cleanup } = await factory();
        const prefix = `c${crypto.randomUUID().slice(0, 8)}`;
        try {
          await body(store, (label) => `${prefix}-${label}`);
        } finally {
          await cleanup();
        }
      },
    });

  contractCase(
    "append to a new stream and read it back with revisions, data and metadata",
    async (store, stream) => {
      const s = stream("round");
      const events = [
        event("RuleCreated", { name: "cpu_high", thresholds: [90, 80], nested: { ok: true, none: null } }),
        event("RuleUpdated", { text: 'Grüße, 警報 \u2028 "quoted"', n: -1.5e-7 }),
      ];
      const before = Date.now();
      const result = await store.append(s, events, { expectedRevision: "no_stream" });
      assert.equal(result.nextExpectedRevision, 1);
      const read = await store.readStream(s);
      assert.deepEqual(read.map((e) => [e.id, e.type, e.data, e.metadata, e.streamId, e.revision]), [
        [events[0].id, "RuleCreated", events[0].data, events[0].metadata, s, 0],
        [events[1].id, "RuleUpdated", events[1].data, events[1].metadata, s, 1],
      ]);
      assert.ok(read[0].position < read[1].position, "positions grow within an append");
      assert.equal(read[1].position, result.position);
      for (const e of read) {
        assert.ok(
          e.recordedAt >= before - 5_000 && e.recordedAt <= Date.now() + 5_000,
          `recordedAt ${e.recordedAt}`,
        );
      }
    },
  );

  appendManyContract(contractCase, (type) => event(type));

  contractCase(
    "a stream that does not exist reads as empty, forwards and backwards",
    async (store, stream) => {
      assert.deepEqual(await store.readStream(stream("absent")), []);
      assert.deepEqual(await store.readStream(stream("absent"), { direction: "backwards" }), []);
    },
  );

  contractCase(
    "expected revision: stale, missing and existing streams conflict as they should",
    async (store, stream) => {
      const s = stream("expect");
      await assert.rejects(store.append(s, [event("A")], { expectedRevision: "stream_exists" }), Conflict);
      await assert.rejects(store.append(s, [event("A")], { expectedRevision: 0 }), Conflict);
      await store.append(s, [event("A")], { expectedRevision: "no_stream" });
      await assert.rejects(store.append(s, [event("B")], { expectedRevision: "no_stream" }), Conflict);
      await assert.rejects(store.append(s, [event("B")], { expectedRevision: 1 }), Conflict);
      assert.equal((await store.append(s, [event("B")], { expectedRevision: 0 })).nextExpectedRevision, 1);
      assert.equal(
        (await store.append(s, [event("C")], { expectedRevision: "stream_exists" })).nextExpectedRevision,
        2,
      );
      assert.equal(
        (await store.append(s, [event("D")], { expectedRevision: "any" })).nextExpectedRevision,
        3,
      );
      await assert.rejects(store.append(s, [event("E")], { expectedRevision: 2 }), Conflict);
      assert.deepEqual((await store.readStream(s)).map((e) => e.type), ["A", "B", "C", "D"]);
    },
  );

  contractCase("an empty append or an event id that is not a UUID is refused", async (store, stream) => {
    const s = stream("bad");
    await assert.rejects(store.append(s, [], { expectedRevision: "any" }), ValidationError);
    await assert.rejects(
      store.append(s, [{ ...event("A"), id: "not-a-uuid" }], { expectedRevision: "any" }),
      (e) => e instanceof ValidationError && /"not-a-uuid" is not a UUID/.test(e.message),
    );
    assert.deepEqual(await store.readStream(s), []);
  });

  contractCase("two concurrent appends at the same revision: exactly one wins", async (store, stream) => {
    const s = stream("race");
    await store.append(s, [event("A")], { expectedRevision: "no_stream" });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => store.append(s, [event(`edit${i}`)], { expectedRevision: 0 })),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.equal(won.length, 1);
    assert.equal(lost.length, 4);
    for (const r of lost) assert.ok(r.reason instanceof Conflict, `a loser gets Conflict, not ${r.reason}`);
    assert.equal((await store.readStream(s)).length, 2);
  });

  contractCase(
    "a retried append (same event ids, same expected revision) appends nothing",
    async (store, stream) => {
      const s = stream("retry");
      const batch = [event("A"), event("B")];
      const first = await store.append(s, batch, { expectedRevision: "no_stream" });
      const again = await store.append(s, batch, { expectedRevision: "no_stream" });
      assert.deepEqual(again, first);
      const next = [event("C")];
      const third = await store.append(s, next, { expectedRevision: 1 });
      assert.deepEqual(await store.append(s, next, { expectedRevision: 1 }), third);
      assert.deepEqual(await store.append(s, next, { expectedRevision: "any" }), third);
      assert.deepEqual((await store.readStream(s)).map((e) => e.type), ["A", "B", "C"]);
    },
  );

  contractCase("read a stream backwards and from a revision, with a count", async (store, stream) => {
    const s = stream("ranges");
    await store.append(s, ["e0", "e1", "e2", "e3", "e4"].map((t) => event(t)), {
      expectedRevision: "no_stream",
    });
    const types = (events: StoredEvent[]) => events.map((e) => e.type);
    assert.deepEqual(types(await store.readStream(s, { direction: "backwards", maxCount: 2 })), ["e4", "e3"]);
    assert.deepEqual(types(await store.readStream(s, { direction: "backwards", fromRevision: 2 })), [
      "e2",
      "e1",
      "e0",
    ]);
    assert.deepEqual(types(await store.readStream(s, { fromRevision: 3 })), ["e3", "e4"]);
    assert.deepEqual(types(await store.readStream(s, { fromRevision: 1, maxCount: 2 })), ["e1", "e2"]);
  });

  contractCase(
    "readAll orders every stream's events by position and resumes after one",
    async (store, stream) => {
      const [a, b] = [stream("all-a"), stream("all-b")];
      const start = await store.append(a, [event("a0")], { expectedRevision: "no_stream" });
      // Eleven events, so positions cross a decimal digit: the order must be numeric.
      const bTypes = Array.from({ length: 11 }, (_, i) => `b${i}`);
      await store.append(b, bTypes.map((t) => event(t)), { expectedRevision: "no_stream" });
      await store.append(a, [event("a1")], { expectedRevision: 0 });
      const mine = (events: StoredEvent[]) => events.filter((e) => e.streamId === a || e.streamId === b);
      const all = mine(await readAllPages(store, undefined, 4));
      assert.deepEqual(all.map((e) => e.type), ["a0", ...bTypes, "a1"]);
      for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].position < all[i].position);
      const after = mine(await readAllPages(store, start.position));
      assert.deepEqual(after.map((e) => e.type), [...bTypes, "a1"]);
    },
  );

  contractCase(
    "subscribe delivers the backlog after a position, then live appends, until aborted",
    async (store, stream) => {
      const s = stream("live");
      const first = await store.append(s, [event("old")], { expectedRevision: "no_stream" });
      await store.append(s, [event("backlog")], { expectedRevision: 0 });
      const controller = new AbortController();
      const timeout = setTimeout(() => controller.abort(), DELIVERY_TIMEOUT_MS);
      const seen: string[] = [];
      const appending = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await store.append(s, [event("live1"), event("live2")], { expectedRevision: 1 });
      })();
      try {
        for await (const e of store.subscribe({ after: first.position, signal: controller.signal })) {
          if (e.streamId !== s) continue;
          seen.push(e.type);
          if (seen.length === 3) break;
        }
      } finally {
        clearTimeout(timeout);
        controller.abort();
      }
      await appending;
      assert.deepEqual(seen, ["backlog", "live1", "live2"]);
    },
  );
}

function event(type: string, data: Record<string, unknown> = { type }): NewEvent {
  return {
    id: crypto.randomUUID(),
    type,
    data,
    metadata: { who: "contract", why: type, at: 1_700_000_000_000 },
  };
}

/** Every event after `after`, read page by page (a shared server may hold many). */
async function readAllPages(store: EventStore, after?: bigint, pageSize = 1000): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let position = after;
  for (;;) {
    const page = await store.readAll({ after: position, maxCount: pageSize });
    if (page.length === 0) return events;
    events.push(...page);
    position = page[page.length - 1].position;
  }
}
