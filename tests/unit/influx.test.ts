import assert from "node:assert/strict";
import type { DecodeContext } from "../../commands/ingest/decode-context.ts";
import { decodeInflux, type InfluxPrecision, influxPrecision } from "../../commands/ingest/influx.ts";
import { ValidationError } from "../../domain/errors.ts";
import { SeriesCache } from "../../commands/ingest/series-cache.ts";
import { seriesId } from "../../domain/series.ts";
import { decodeAllPaths, decodeContext, observed } from "../support/decode-paths.ts";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const ctx: DecodeContext = decodeContext(NOW);
const decode = (text: string, precision: InfluxPrecision = "ns") =>
  decodeAllPaths(ctx, (c) => decodeInflux(text, precision, c));

function samples(text: string, precision: InfluxPrecision = "ns") {
  const result = decode(text, precision);
  const { batch } = result;
  return Array.from({ length: batch.length }, (_, i) => {
    const s = batch.series[batch.seriesIndex[i]];
    return { metric: s.metric, labels: { ...s.labels }, ts: batch.timestamps[i], value: batch.values[i] };
  });
}

Deno.test("influx: one series per field, metric {measurement}_{field}, tags as labels", () => {
  const ns = `${NOW}000000`;
  const got = samples(`cpu,host=web-1,region=eu usage_idle=92.5,usage_user=3i ${ns}\n`);
  assert.deepEqual(got, [
    { metric: "cpu_usage_idle", labels: { host: "web-1", region: "eu" }, ts: NOW, value: 92.5 },
    { metric: "cpu_usage_user", labels: { host: "web-1", region: "eu" }, ts: NOW, value: 3 },
  ]);
  const result = decode(`cpu,host=web-1,region=eu usage_idle=92.5 ${ns}`);
  assert.equal(
    result.batch.series[0].id.hex,
    seriesId("acme", "cpu_usage_idle", { host: "web-1", region: "eu" }).hex,
  );
});

Deno.test("influx: every precision names the same instant; sub-millisecond digits are truncated", () => {
  const instant = NOW - 60_000; // a whole minute, so m and h can be exact
  const hour = Math.floor(NOW / 3_600_000) * 3_600_000;
  const cases: [InfluxPrecision, string, number][] = [
    ["ns", `${instant}999999`, instant],
    ["n", `${instant}000001`, instant],
    ["us", `${instant}999`, instant],
    ["u", `${instant}000`, instant],
    ["ms", `${instant}`, instant],
    ["s", `${instant / 1000}`, instant],
    ["m", `${instant / 60_000}`, instant],
    ["h", `${hour / 3_600_000}`, hour],
  ];
  for (const [precision, ts, expected] of cases) {
    assert.deepEqual(samples(`m v=1 ${ts}`, precision).map((s) => s.ts), [expected], precision);
  }
  assert.equal(influxPrecision(undefined), "ns");
  assert.throws(() => influxPrecision("ps"), ValidationError);
});

Deno.test("influx: escaped commas, spaces and equals signs in every element; literal backslashes", () => {
  const line = String.raw`disk\ io\,x,mount\=point=/var\ lib\,a\=b,path=C:\temp read\ ops=5,"q"=1 ${NOW}` +
    "000000";
  const got = samples(line);
  assert.deepEqual(got.map((s) => s.metric), ["disk_io_x_read_ops", "disk_io_x__q_"]);
  assert.deepEqual(got[0].labels, { mount_point: "/var lib,a=b", path: String.raw`C:\temp` });
});

Deno.test("influx: string fields are skipped and counted; booleans, integers and unsigned are numbers", () => {
  const text = [
    `s msg="hello, world \\"quoted\\" = x",ok=t,no=False,n=-42i,u=42u,f=-1.5e3 ${NOW}000000`,
  ].join("\n");
  const result = decode(text);
  assert.deepEqual(observed(result).samples.map(([, , v]) => v), ["1", "0", "-42", "42", "-1500"]);
  assert.deepEqual(result.rejectedSamples, { string_field: 1 });
  assert.deepEqual(result.rejectedSeries, []);
});

Deno.test("influx: a line without a timestamp is taken at now", () => {
  assert.deepEqual(samples("up value=1").map((s) => s.ts), [NOW]);
});

Deno.test("influx: malformed lines and bad values are rejected alone, with the line number", () => {
  const ns = `${NOW}000000`;
  const text = [
    "# a comment",
    `good,host=a v=1 ${ns}`,
    "",
    `nofields,host=a ${ns}`,
    `novalue v= ${ns}`,
    `unclosed s="abc ${ns}`,
    `junk v=1 ${ns} extra`,
    `badts v=1 12ab`,
    `badfloat v=1.2.3 ${ns}`,
    `badunsigned v=-1u ${ns}`,
    `dup,a.b=1,a_b=2 v=1 ${ns}`,
    `old v=1 ${NOW - 8 * 86_400_000}000000`,
    `good,host=b,empty= v=2 ${ns}\r`,
  ].join("\n");
  const result = decode(text);
  const NOT_A_VALUE =
    "which is not a float, an integer (7i), an unsigned integer (7u), a boolean or a string";
  assert.deepEqual(result.batch.series.map((s) => s.labels), [{ host: "a" }, { host: "b" }]);
  assert.deepEqual(result.rejectedSeries.map((r) => [r.index, r.reason]), [
    [3, 'line 4: field "1705320000000000000" has no "=value"'],
    [4, 'line 5: field "v" has an empty value'],
    [5, 'line 6: the string value of field "s" is not closed'],
    [6, 'line 7: unexpected text after the timestamp: "extra"'],
    [7, 'line 8: timestamp "12ab" is not an integer'],
    [8, `line 9: field "v" has the value "1.2.3", ${NOT_A_VALUE}`],
    [9, `line 10: field "v" has the value "-1u", ${NOT_A_VALUE}`],
    [10, 'tag "a_b" is given twice'],
    [11, "the only sample is older than the raw retention of 7d"],
  ]);
});

Deno.test("influx: a body that differs from the last one by a character still resolves each series anew", () => {
  // The cache predicts each line's series from the order of the body before; a
  // prediction must not pass for a series that differs only at a tag value's or a field
  // key's last character, or in length.
  const first = [
    `cpu,host=web-1 idle=1,user=2 ${NOW}`,
    `cpu,host=web-2 idle=3 ${NOW}`,
    `mem,host=web-1 used=4 ${NOW}`,
  ];
  const variants = [
    [
      `cpu,host=web-1 idle=1,user=2 ${NOW + 1}`,
      `cpu,host=web-3 idle=3 ${NOW + 1}`,
      `mem,host=web-1 used=4 ${NOW + 1}`,
    ],
    [
      `cpu,host=web-1 idle=1,usex=2 ${NOW + 1}`,
      `cpu,host=web-2 idle=3 ${NOW + 1}`,
      `mem,host=web-1 used=4 ${NOW + 1}`,
    ],
    [
      `cpu,host=web-1 idle=1,user=2 ${NOW + 1}`,
      `cpu,host=web-22 idle=3 ${NOW + 1}`,
      `mem,host=web-1 usedx=4 ${NOW + 1}`,
    ],
    [
      `cpu,host=web-1 idle=1 ${NOW + 1}`,
      `cpu,host=web-2 idle=3,user=2 ${NOW + 1}`,
      `mem,host=web-1 used=4 ${NOW + 1}`,
    ],
    [
      `cpu,host=web-1 idle=1,user=2 ${NOW + 1}`,
      `cpu,host=web-2  idle=3 ${NOW + 1}`,
      `mem,host=web-1 used=4 ${NOW + 1}`,
    ],
    [
      `cpu,host=web-1 idle=1,user=2 ${NOW + 1}`,
      `cpu,host=web-2 idlex=3 ${NOW + 1}`,
      `mem,host=web-1 used=4 ${NOW + 1}`,
    ],
    [
      `cpu,host=web-1 idle=1,user=2 ${NOW + 1}`,
      `cpu,host=web-2,dc=x idle=3 ${NOW + 1}`,
      `mem,host=web-1 used=4 ${NOW + 1}`,
    ],
    [
      `cpu,host=web-1 idle=1,user=2 ${NOW + 1}`,
      `cpu,host=web-2 idle=3 ${NOW + 1}`,
      `mem,host=web-1 used=4,free=5 ${NOW + 1}`,
    ],
  ];
  for (const variant of variants) {
    const cached = { ...ctx, seriesCache: new SeriesCache(1024) };
    decodeInflux(first.join("\n"), "ms", cached);
    decodeInflux(first.join("\n"), "ms", cached);
    const body = variant.join("\n");
    const expected = observed(decodeInflux(body, "ms", { ...ctx, seriesCache: undefined }));
    const fields = variant.reduce((n, line) => n + line.split(" ").filter(Boolean)[1].split(",").length, 0);
    assert.equal(expected.samples.length, fields);
    assert.deepEqual(
      observed(decodeInflux(body, "ms", cached)),
      observed(decodeInflux(body, "ms", { ...ctx, seriesCache: undefined })),
      body,
    );
  }
});
