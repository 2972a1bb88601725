/**
 * The batch slots of a request's series: found by the whole 64-bit id, so two series
 * that share a low word keep slots of their own, also across the table's growth.
 */
import assert from "node:assert/strict";
import { SeriesSlots } from "../../commands/ingest/series-slots.ts";

Deno.test("series slots: given series added in order, when looked up, then each id finds its own slot", () => {
  const slots = new SeriesSlots(4);
  const ids: [number, number][] = [];
  for (let s = 0; s < 5000; s++) {
    // Every tenth series shares its low word with the one before it.
    const lo = s % 10 === 9 ? ids[s - 1][0] : (Math.imul(s, 0x9e3779b1) >>> 0);
    ids.push([lo, (0xffffffff - s) >>> 0]);
    assert.equal(slots.get(lo, ids[s][1]), -1, `series ${s} is new`);
    slots.set(lo, ids[s][1], s);
  }
  for (let s = 0; s < ids.length; s++) assert.equal(slots.get(ids[s][0], ids[s][1]), s);
  assert.equal(slots.get(ids[0][0], 12345), -1, "same low word, other high word");
});
