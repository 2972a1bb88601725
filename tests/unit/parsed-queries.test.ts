import assert from "node:assert/strict";
import { ParsedQueries } from "../../read-models/promql/parsed-queries.ts";
import { parsePromql } from "../../read-models/promql/parse.ts";

Deno.test("parsed queries: a text asked again gets the tree parsed the first time, the oldest goes past the bound", () => {
  const parsed = new ParsedQueries(2);
  const first = parsed.parse('sum by (job) (rate(x{job="a"}[5m]))');
  assert.deepEqual(first, parsePromql('sum by (job) (rate(x{job="a"}[5m]))'));
  assert.equal(parsed.parse('sum by (job) (rate(x{job="a"}[5m]))'), first, "the same tree, not parsed again");
  parsed.parse("y");
  parsed.parse("z");
  assert.notEqual(parsed.parse('sum by (job) (rate(x{job="a"}[5m]))'), first, "dropped past two entries");
  assert.throws(() => parsed.parse("sum(("), /Cannot parse/);
  assert.throws(() => parsed.parse("sum(("), /Cannot parse/, "a text that does not parse is not kept");
});
