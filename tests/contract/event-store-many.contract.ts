/**
 * The `appendMany` and `readStreams` cases of the event-store contract (`event-store.contract.ts` runs
 * them for every implementation): several streams in one call, each with its own
 * expected revision; a retried call appends nothing; a conflict stops the call where the
 * store cannot append the rest, and retrying it with the right revision lands every
 * event once. Whether the streams before a conflict stay appended is the one thing
 * implementations may differ in (see the port), so no case depends on it.
 */
import assert from "node:assert/strict";
import { Conflict, ValidationError } from "../../domain/errors.ts";
import type { EventStore, NewEvent } from "../../domain/ports/event-store.ts";

export type ContractCase = (
  title: string,
  body: (store: EventStore, stream: (label: string) => string) => Promise<void>,
) => void;

export function appendManyContract(contractCase: ContractCase, event: (type: string) => NewEvent): void {
  contractCase("appendMany: several streams at once, each at its own revision", async (store, stream) => {
    const [a, b, c] = [stream("many-a"), stream("many-b"), stream("many-c")];
    await store.append(b, [event("B0")], { expectedRevision: "no_stream" });
    const results = await store.appendMany([
      { streamId: a, events: [event("A0"), event("A1")], expectedRevision: "no_stream" },
      { streamId: b, events: [event("B1")], expectedRevision: 0 },
      { streamId: c, events: [event("C0")], expectedRevision: "any" },
    ]);
    assert.deepEqual(results.map((r) => r.nextExpectedRevision), [1, 1, 0]);
    const read = await Promise.all([a, b, c].map((s) => store.readStream(s)));
    assert.deepEqual(read.map((events) => events.map((e) => [e.type, e.revision])), [
      [["A0", 0], ["A1", 1]],
      [["B0", 0], ["B1", 1]],
      [["C0", 0]],
    ]);
    assert.deepEqual(results.map((r) => r.position), read.map((events) => events.at(-1)!.position));
    const positions = [read[0][0], read[0][1], read[1][1], read[2][0]].map((e) => e.position);
    assert.deepEqual([...positions].sort((x, y) => (x < y ? -1 : 1)), positions, "positions in call order");
    assert.deepEqual(await store.appendMany([]), []);
    const together = await store.readStreams([c, stream("many-none"), a, b]);
    assert.deepEqual(together, [read[2], [], read[0], read[1]], "readStreams reads as readStream does");
    assert.deepEqual(await store.readStreams([]), []);
  });

  contractCase("appendMany: a retried call (same event ids) appends nothing", async (store, stream) => {
    const [a, b] = [stream("again-a"), stream("again-b")];
    const call = [
      { streamId: a, events: [event("A0")], expectedRevision: "no_stream" as const },
      { streamId: b, events: [event("B0"), event("B1")], expectedRevision: "no_stream" as const },
    ];
    const first = await store.appendMany(call);
    assert.deepEqual(await store.appendMany(call), first);
    const next = await store.appendMany([
      { streamId: a, events: call[0].events, expectedRevision: "no_stream" },
      { streamId: b, events: [event("B2")], expectedRevision: 1 },
    ]);
    assert.deepEqual(next[0], first[0], "the retried stream answers as before beside a new append");
    assert.equal(next[1].nextExpectedRevision, 2);
    assert.deepEqual((await store.readStream(a)).map((e) => e.type), ["A0"]);
    assert.deepEqual((await store.readStream(b)).map((e) => e.type), ["B0", "B1", "B2"]);
  });

  contractCase(
    "appendMany: a conflict fails the call; retried right, every event lands once",
    async (store, stream) => {
      const [a, b] = [stream("clash-a"), stream("clash-b")];
      await store.append(b, [event("B0")], { expectedRevision: "no_stream" });
      const first = { streamId: b, events: [event("B1")], expectedRevision: "no_stream" as const };
      const second = { streamId: a, events: [event("A0")], expectedRevision: "no_stream" as const };
      await assert.rejects(store.appendMany([first, second]), Conflict);
      assert.deepEqual(await store.readStream(a), [], "nothing after the conflicting stream is appended");
      assert.deepEqual((await store.readStream(b)).map((e) => e.type), ["B0"]);
      // The conflict last: a store without multi-stream transactions may keep `a` appended.
      await assert.rejects(store.appendMany([second, { ...first, expectedRevision: 5 }]), Conflict);
      await store.appendMany([second, { ...first, expectedRevision: 0 }]);
      assert.deepEqual((await store.readStream(a)).map((e) => e.type), ["A0"]);
      assert.deepEqual((await store.readStream(b)).map((e) => e.type), ["B0", "B1"]);
    },
  );

  contractCase("appendMany: a stream twice, no events or a bad id is refused", async (store, stream) => {
    const a = stream("refused");
    const one = { streamId: a, events: [event("A0")], expectedRevision: "any" as const };
    await assert.rejects(
      store.appendMany([one, { ...one, events: [event("A1")] }]),
      (e) => e instanceof ValidationError && /appears twice/.test(e.message),
    );
    await assert.rejects(store.appendMany([{ ...one, events: [] }]), ValidationError);
    await assert.rejects(
      store.appendMany([{ ...one, events: [{ ...event("A0"), id: "nope" }] }]),
      (e) => e instanceof ValidationError && /"nope" is not a UUID/.test(e.message),
    );
    assert.deepEqual(await store.readStream(a), []);
  });
}
