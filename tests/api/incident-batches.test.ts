/**
 * An evaluation round's incident commands recorded together (`executeMany`) on the
 * embedded event store (real PGlite): a storm's incidents in one `appendMany`, two
 * commands on one incident applied in order, a replayed round recording nothing, and a
 * person's acknowledgement landing between read and append (a real version conflict)
 * falling back to one command at a time with nothing lost or doubled.
 */
import assert from "node:assert/strict";
import { IncidentCommands, incidentStreamId } from "../../commands/incidents/incident-commands.ts";
import { openPostgresEventStore } from "../../adapters/postgres/postgres-event-store.ts";
import type { EventStore } from "../../domain/ports/event-store.ts";
import { scratchPglite } from "../support/postgres.ts";
import { fireIncident } from "../support/rule-spec.ts";

const AT = 1_700_000_000_000;
const metadata = { who: "ana", why: "on it", at: AT };
const fire = (incidentId: string, level: "warning" | "critical" = "critical") =>
  fireIncident(incidentId, level, AT);

/** The store, counting the appends that reach it. */
function counted(store: EventStore): { store: EventStore; calls: { append: number; appendMany: number } } {
  const calls = { append: 0, appendMany: 0 };
  return {
    calls,
    store: {
      ...store,
      append: (...args) => (calls.append++, store.append(...args)),
      appendMany: (appends) => (calls.appendMany++, store.appendMany(appends)),
    },
  };
}

const types = async (store: EventStore, incidentId: string) =>
  (await store.readStream(incidentStreamId(incidentId))).map((e) => e.type);

Deno.test({
  name: "incident batches: a round's commands in one append, in order, replayed without effect",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const sql = await scratchPglite();
  try {
    const { store, calls } = counted(await openPostgresEventStore(sql));
    const incidents = new IncidentCommands({ store });
    const ids = Array.from({ length: 200 }, () => crypto.randomUUID());
    const round = ids.map((id, i) => ({ command: fire(id), commandId: `storm-${ids[0]}-${i}` }));
    const results = await incidents.executeMany(round);
    assert.equal(calls.appendMany, 1, "one append for the whole round");
    assert.equal(calls.append, 0);
    assert.deepEqual(
      results.map((r) => r.events.map((e) => e.type)),
      ids.map(() => ["IncidentOpened", "IncidentFired"]),
    );
    const positions = results.map((r) => r.position!);
    assert.deepEqual([...positions].sort((a, b) => (a < b ? -1 : 1)), positions, "positions in round order");
    for (const id of [ids[0], ids[199]]) {
      assert.deepEqual(await types(store, id), ["IncidentOpened", "IncidentFired"]);
    }

    const again = await incidents.executeMany(round);
    assert.ok(
      again.every((r) => r.events.length === 0 && r.position === undefined),
      "a replay decides nothing",
    );
    assert.equal(calls.appendMany, 1, "a replay appends nothing");

    const [one, two] = [crypto.randomUUID(), crypto.randomUUID()];
    await incidents.executeMany([
      { command: fire(one, "warning"), commandId: `w-${one}` },
      { command: fire(two, "warning"), commandId: `w-${two}` },
      { command: fire(one, "critical"), commandId: `c-${one}` },
    ]);
    assert.equal(calls.appendMany, 3, "the second command on one incident goes in a second append");
    assert.deepEqual(await types(store, one), ["IncidentOpened", "IncidentFired", "IncidentEscalated"]);
    assert.deepEqual(await types(store, two), ["IncidentOpened", "IncidentFired"]);
  } finally {
    await sql.close();
  }
});

Deno.test({
  name: "incident batches: an acknowledgement between read and append falls back to one command at a time",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const sql = await scratchPglite();
  try {
    const real = await openPostgresEventStore(sql);
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const person = new IncidentCommands({ store: real });
    await person.executeMany(ids.map((id) => ({ command: fire(id, "warning"), commandId: `w-${id}` })));
    let interleaved = false;
    const store: EventStore = {
      ...real,
      async appendMany(appends) {
        if (!interleaved) {
          interleaved = true;
          // Someone acknowledges the second incident after the round read its stream.
          await person.execute(
            { type: "AcknowledgeIncident", data: { incidentId: ids[1] }, metadata },
            `ack-${ids[1]}`,
          );
        }
        return await real.appendMany(appends);
      },
    };
    const round = ids.map((id) => ({ command: fire(id, "critical"), commandId: `c-${id}` }));
    const results = await new IncidentCommands({ store }).executeMany(round);
    assert.ok(results.every((r) => r.position !== undefined), "every command recorded");
    assert.deepEqual(await types(real, ids[1]), [
      "IncidentOpened",
      "IncidentFired",
      "IncidentAcknowledged",
      "IncidentEscalated",
    ]);
    for (const id of [ids[0], ids[2]]) {
      assert.deepEqual(await types(real, id), ["IncidentOpened", "IncidentFired", "IncidentEscalated"]);
    }
  } finally {
    await sql.close();
  }
});
