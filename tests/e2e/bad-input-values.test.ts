/**
 * Sample policy against the real program, TESTING.md rows 6 and 7:
 * - out-of-order and same-timestamp samples, sent shuffled over many requests, give
 *   raw and 1m/1h rollup answers equal to the oracle's (a timestamp written twice keeps
 *   the value written last, as documented in the README; here a repeat travels in the
 *   request of the sample it replaces, tests/e2e/sample-policy.test.ts sends it apart);
 * - NaN, ±Inf and the Prometheus stale marker are stored exactly: PromQL returns NaN and
 *   the infinities as sent and treats the stale marker as the end of the series, and the
 *   query API's aggregates leave NaN out and take the infinities in.
 */
import assert from "node:assert/strict";
import * as snappyWasm from "snappy-wasm";
import { metricValues } from "../support/prometheus-text.ts";
import { type Program, withProgram } from "../support/program.ts";
import { encodeWriteRequestV1, series } from "../support/remote-write-proto.ts";
import { type ExactAggregation, SampleOracle } from "../support/sample-oracle.ts";
import { seededRandom } from "../support/seeded-random.ts";

await (snappyWasm as unknown as { default: () => Promise<unknown> }).default();

const TENANTS = { acme: "acme-values-key-1b5c" };
const ACME = TENANTS.acme;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const SEED = 6_2026;

function query(program: Program, body: Record<string, unknown>) {
  return program.query(ACME, { by: ["host"], ...body });
}

Deno.test("bad input: out-of-order and same-timestamp samples; rollups equal the oracle", async () => {
  await withProgram(
    { tenants: TENANTS, env: { LOOKOUT_ALLOWED_LATENESS_SECONDS: "7200" } },
    async (program) => {
      const random = seededRandom(SEED);
      const now = Date.now();
      const start = now - 50 * MINUTE;
      const oracle = new SampleOracle();
      type Sent = { host: string; ts: number; value: number };
      const units: Sent[][] = [];
      for (const host of ["a", "b", "c"]) {
        for (let ts = start + random.int(0, 5000); ts < now - MINUTE; ts += random.int(1000, 30_000)) {
          const value = random.int(-400, 400) / 4;
          // About one in eight timestamps twice, with another value, later in the same request.
          units.push(
            random.int(0, 7) === 0
              ? [{ host, ts, value }, { host, ts, value: value + random.int(1, 8) / 4 }]
              : [{ host, ts, value }],
          );
        }
      }
      // Shuffled: every request holds samples from all over the 50 minutes.
      const shuffled = random.shuffled(units);
      const REQUESTS = 12;
      const sent: Sent[] = [];
      for (let r = 0; r < REQUESTS; r++) {
        const request = shuffled.filter((_, i) => i % REQUESTS === r).flat();
        sent.push(...request);
        for (const s of request) oracle.add(s.host, s.ts, s.value);
        const lines = request.map((s) =>
          JSON.stringify({ metric: "row6", labels: { host: s.host }, timestamps: [s.ts], values: [s.value] })
        );
        const res = await program.post("/v1/samples", lines.join("\n"), {
          key: ACME,
          contentType: "application/x-ndjson",
        });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.equal((res.body as { accepted: number }).accepted, lines.length);
      }
      await program.waitForProjected();
      const from = Math.floor(start / HOUR) * HOUR;
      const aggregations: ExactAggregation[] = ["count", "sum", "min", "max", "last", "avg"];
      let compared = 0;
      for (
        const [resolution, step] of [["raw", MINUTE], ["1m", MINUTE], ["1m", 5 * MINUTE], [
          "1h",
          HOUR,
        ]] as const
      ) {
        for (const agg of aggregations) {
          const reply = await query(program, { metric: "row6", agg, from, to: now + HOUR, step, resolution });
          assert.equal(reply.resolution, resolution);
          const got = Object.fromEntries(reply.series.map((s) => [s.labels.host, s.points]));
          const want = Object.fromEntries(
            oracle.series.map((host) => [host, oracle.points(host, step, agg)]),
          );
          assert.deepEqual(got, want, `${resolution} step ${step} ${agg}`);
          compared += oracle.series.reduce((n, host) => n + want[host].length, 0);
        }
      }
      const late = metricValues(await program.metrics(), "lookout_late_samples_total");
      console.log(
        `${oracle.size} samples (${
          sent.length - new Set(sent.map((s) => `${s.host}@${s.ts}`)).size
        } on a timestamp already used) in ${REQUESTS} shuffled requests; ${compared} buckets equal the oracle; late samples ${late.length}`,
      );
      assert.deepEqual(late, [], "nothing is later than the 2 h lateness");
    },
  );
});

/** A remote write body whose sample of value `placeholder` carries the stale marker's bits instead. */
function withStaleMarker(body: Uint8Array, placeholder: number): Uint8Array {
  const find = new Uint8Array(new Float64Array([placeholder]).buffer);
  const at = body.findIndex((_, i) => find.every((b, k) => body[i + k] === b));
  assert.ok(at >= 0, "the placeholder is in the body");
  const out = body.slice();
  out.set([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f], at); // 0x7ff0000000000002, little-endian
  return out;
}

Deno.test("bad input: NaN, ±Inf and the stale marker are stored exactly; aggregates treat them as documented", async () => {
  await withProgram({ tenants: TENANTS }, async (program) => {
    const now = Math.floor(Date.now() / 1000) * 1000;
    const t = (k: number) => now - 10 * MINUTE + k * 15_000;
    const native = [
      { metric: "row7", labels: { host: "pos" }, timestamps: [t(0), t(1), t(2)], values: [1, "+Inf", "NaN"] },
      { metric: "row7", labels: { host: "neg" }, timestamps: [t(0), t(1)], values: ["-Inf", 3] },
    ];
    const res = await program.post("/v1/samples", native.map((s) => JSON.stringify(s)).join("\n"), {
      key: ACME,
      contentType: "application/x-ndjson",
    });
    assert.equal((res.body as { accepted: number }).accepted, 5, JSON.stringify(res.body));
    const PLACEHOLDER = 1234.5678;
    const body = withStaleMarker(
      encodeWriteRequestV1({
        timeseries: [series("row7_stale", { host: "s" }, [[t(0), 4], [t(1), 5], [t(2), PLACEHOLDER]])],
      }),
      PLACEHOLDER,
    );
    const rw = await program.post("/api/v1/write", snappyWasm.compress_raw(body), {
      contentType: "application/x-protobuf",
      headers: { authorization: `Bearer ${ACME}`, "content-encoding": "snappy" },
    });
    assert.equal(rw.status, 204, String(rw.body));
    assert.equal(rw.headers.get("x-prometheus-remote-write-samples-written"), "3");
    await program.waitForProjected();

    const promql = async (q: string, atMs: number) => {
      const reply = await program.get(
        `/api/v1/query?query=${encodeURIComponent(q)}&time=${atMs / 1000}`,
        ACME,
      );
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const result = (reply.body as {
        data: {
          result: {
            metric: Record<string, string>;
            value?: [number, string];
            values?: [number, string][];
          }[];
        };
      }).data.result;
      return Object.fromEntries(
        result.map((r) => [r.metric.host, r.values?.map((v) => v[1]) ?? r.value![1]]),
      );
    };
    // Range selection returns NaN and the infinities as sent, and leaves the stale marker out.
    assert.deepEqual(await promql("row7[15m]", now), { pos: ["1", "+Inf", "NaN"], neg: ["-Inf", "3"] });
    assert.deepEqual(await promql("row7_stale[15m]", now), { s: ["4", "5"] });
    // The stale marker ends the series for instant selection; a NaN is a value (control).
    assert.deepEqual(await promql("row7_stale", t(1) + 1000), { s: "5" });
    assert.deepEqual(await promql("row7_stale", t(2) + 1000), {});
    assert.deepEqual(await promql('row7{host="pos"}', t(2) + 1000), { pos: "NaN" });

    const aggregate = async (metric: string, agg: string) => {
      const reply = await query(program, {
        metric,
        agg,
        from: now - HOUR,
        to: now + HOUR,
        step: 2 * HOUR,
        resolution: "raw",
      });
      return Object.fromEntries(reply.series.map((s) => [s.labels.host, s.points.map((p) => p[1])]));
    };
    const table: Record<string, unknown> = {};
    for (const agg of ["count", "sum", "min", "max", "last"]) {
      table[agg] = { ...(await aggregate("row7", agg)), ...(await aggregate("row7_stale", agg)) };
    }
    console.log(`aggregates by host: ${JSON.stringify(table)}`);
    assert.deepEqual(table, {
      count: { pos: [2], neg: [2], s: [2] },
      sum: { pos: ["+Inf"], neg: ["-Inf"], s: [9] },
      min: { pos: [1], neg: ["-Inf"], s: [4] },
      max: { pos: ["+Inf"], neg: [3], s: [5] },
      last: { pos: ["+Inf"], neg: [3], s: [5] },
    });
  });
});
