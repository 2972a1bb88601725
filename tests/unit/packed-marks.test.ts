import assert from "node:assert/strict";
import { PackedMarks } from "../../read-models/packed-marks.ts";

/** A mark source counting its reads per tenant, answering what `stored` holds. */
function source(stored: Map<string, number>) {
  const reads = new Map<string, number>();
  const read = (tenant: string) => {
    reads.set(tenant, (reads.get(tenant) ?? 0) + 1);
    const mark = stored.get(tenant);
    return mark === undefined ? Promise.reject(new Error(`no mark for ${tenant}`)) : Promise.resolve(mark);
  };
  return { read, reads };
}

Deno.test("packed marks: read once per tenant while young, shared by callers at once, read again once old", async () => {
  const stored = new Map([["acme", 1_000], ["globex", 7_000]]);
  const { read, reads } = source(stored);
  let now = 0;
  const marks = new PackedMarks(read, { maxAgeMs: 1_000, now: () => now });
  assert.deepEqual(await Promise.all([marks.get("acme"), marks.get("acme"), marks.get("globex")]), [
    1_000,
    1_000,
    7_000,
  ]);
  assert.deepEqual([...reads], [["acme", 1], ["globex", 1]]);
  stored.set("acme", 2_000);
  now = 999;
  assert.equal(await marks.get("acme"), 1_000, "a young mark is not read again");
  now = 1_000;
  assert.equal(await marks.get("acme"), 2_000, "an old one is");
  assert.equal(reads.get("acme"), 2);
});

Deno.test("packed marks: a forgotten mark is read at the next call; a failed read is not kept", async () => {
  const stored = new Map([["acme", 5_000]]);
  const { read, reads } = source(stored);
  const marks = new PackedMarks(read, { maxAgeMs: 60_000, now: () => 0 });
  assert.equal(await marks.get("acme"), 5_000);
  stored.set("acme", 0);
  marks.forget("acme");
  assert.equal(await marks.get("acme"), 0, "after a rebuild took the mark back");
  assert.equal(reads.get("acme"), 2);

  await assert.rejects(marks.get("initech"), /no mark for initech/);
  stored.set("initech", 3_000);
  assert.equal(await marks.get("initech"), 3_000, "the failure was not held");
  assert.equal(reads.get("initech"), 2);
});

Deno.test("packed marks: a mark handed over is held as read then, never below one held", async () => {
  const stored = new Map([["acme", 1_000]]);
  const { read, reads } = source(stored);
  let now = 0;
  const marks = new PackedMarks(read, { maxAgeMs: 1_000, now: () => now });
  marks.advance("globex", 4_000);
  assert.equal(await marks.get("globex"), 4_000, "handed over, not read");
  assert.equal(reads.get("globex"), undefined);
  assert.equal(await marks.get("acme"), 1_000);
  now = 900;
  marks.advance("acme", 500);
  assert.equal(await marks.get("acme"), 1_000, "an earlier mark does not take a held one back");
  marks.advance("acme", 3_000);
  now = 1_800;
  assert.equal(await marks.get("acme"), 3_000, "held from the hand-over's instant on");
  assert.equal(reads.get("acme"), 1);
  await assert.rejects(marks.get("initech"), /no mark for initech/);
  marks.advance("initech", 2_000);
  assert.equal(await marks.get("initech"), 2_000, "over a failed read");
});
