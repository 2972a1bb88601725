import assert from "node:assert/strict";
import { parseStatsdLine, StatsdAggregator, type StatsdLine } from "../../../domain/agent/statsd.ts";

const byName = (agg: StatsdAggregator) =>
  Object.fromEntries(agg.flush().map((s) => [s.metric + JSON.stringify(s.labels), s.value]));

Deno.test("statsd: lines parse into name, type, values, rate and tags, or a reason", () => {
  assert.deepEqual(parseStatsdLine("api.hits:3|c|@0.5|#route:/a,canary"), {
    name: "api_hits",
    type: "c",
    values: ["3"],
    rate: 0.5,
    labels: { route: "/a", canary: "true" },
  });
  assert.deepEqual((parseStatsdLine("lat:1:2:3|h") as StatsdLine).values, ["1", "2", "3"]);
  const bad: [string, RegExp][] = [
    ["nocolon|c", /no "name:value"/],
    ["a:1|x", /unknown type "x"/],
    ["a:abc|c", /is not a number/],
    ["a:1|c|@2", /sample rate/],
    ["_e{5,4}:title|text", /not metrics/],
  ];
  for (const [line, reason] of bad) assert.match(parseStatsdLine(line) as string, reason, line);
});

Deno.test("statsd: one interval of counters, gauges, timers and sets, step by step", () => {
  const agg = new StatsdAggregator();
  agg.ingest("hits:1|c\nhits:2|c\nhits:1|c|@0.25\nlevel:10|g\nlevel:+5|g\nlevel:-3|g");
  agg.ingest("lat:10|ms\nlat:20|ms\nlat:30|ms\nlat:40|ms|@0.5\nusers:a|s\nusers:b|s\nusers:a|s");
  agg.ingest("hits:1|c|#b:2,a:1\nhits:1|c|#a:1,b:2\nnot a metric");
  const first = byName(agg);
  assert.equal(first["hits{}"], 1 + 2 + 4);
  assert.equal(first['hits{"b":"2","a":"1"}'], 2, "tags in another order are one series");
  assert.equal(first["level{}"], 12);
  assert.equal(first["lat_count{}"], 5);
  assert.equal(first["lat_sum{}"], 10 + 20 + 30 + 80);
  assert.equal(first["lat_min{}"], 10);
  assert.equal(first["lat_max{}"], 40);
  assert.ok(Math.abs(first['lat{"quantile":"0.5"}'] - 30) <= 0.3, `median ${first['lat{"quantile":"0.5"}']}`);
  assert.equal(first["users{}"], 2);
  assert.equal(agg.unsupported, 1);
  // The next interval: counters, timers and sets start over; an untouched gauge sends nothing.
  agg.ingest("hits:5|c\nlevel:+1|g");
  assert.deepEqual(byName(agg), { "hits{}": 5, "level{}": 13 });
  assert.deepEqual(byName(agg), {});
});

Deno.test("statsd: the series of one interval are bounded", () => {
  const agg = new StatsdAggregator(3);
  agg.ingest("a:1|c\nb:1|c\nc:1|c\nd:1|c\na:1|c");
  assert.equal(agg.dropped, 1);
  assert.deepEqual(Object.keys(byName(agg)).sort(), ["a{}", "b{}", "c{}"]);
});
