/**
 * The sample policy against the real program: a series and timestamp written twice
 * keeps the value written last, whether the two writes come in one request, in two
 * requests projected apart, or on both sides of a restart. Raw reads and PromQL return
 * that value once; the 1m/1h rollups count it once when both writes meet in one batch.
 */
import assert from "node:assert/strict";
import { type Program, withProgram } from "../support/program.ts";

const TENANTS = { acme: "acme-policy-key-4e21" };
const ACME = TENANTS.acme;
const MINUTE = 60_000;
const HOUR = 3_600_000;

async function send(program: Program, host: string, samples: [number, number][]): Promise<void> {
  const line = JSON.stringify({
    metric: "policy",
    labels: { host },
    timestamps: samples.map(([ts]) => ts),
    values: samples.map(([, v]) => v),
  });
  const res = await program.post("/v1/samples", line, { key: ACME, contentType: "application/x-ndjson" });
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

/** Per host, the points of `agg` over the hour around `ts` at `resolution`. */
async function aggregate(program: Program, agg: string, resolution: string, ts: number) {
  const reply = await program.query(ACME, {
    metric: "policy",
    by: ["host"],
    agg,
    from: Math.floor(ts / HOUR) * HOUR,
    to: Math.floor(ts / HOUR) * HOUR + HOUR,
    step: HOUR,
    resolution,
  });
  assert.equal(reply.resolution, resolution);
  return Object.fromEntries(reply.series.map((s) => [s.labels.host, s.points.map((p) => p[1])]));
}

async function promql(program: Program, query: string, atMs: number): Promise<Record<string, string>> {
  const reply = await program.get(
    `/api/v1/query?query=${encodeURIComponent(query)}&time=${atMs / 1000}`,
    ACME,
  );
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const result =
    (reply.body as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } })
      .data.result;
  return Object.fromEntries(result.map((r) => [r.metric.host, r.value[1]]));
}

Deno.test("sample policy: the same series and timestamp twice keeps the last written value", async () => {
  await withProgram({ tenants: TENANTS }, async (program) => {
    const ts = Math.floor(Date.now() / 1000) * 1000 - 30_000;
    // given, per host, one timestamp written twice with different values:
    // "one" in one request, "two" in two requests with the first projected before the
    // second is sent, "restart" the same with a restart of the program in between
    await send(program, "one", [[ts, 1], [ts, 7]]);
    await send(program, "two", [[ts, 2]]);
    await send(program, "restart", [[ts, 3]]);
    await program.waitForProjected();
    await send(program, "two", [[ts, 8]]);
    await program.stop();
    await program.restart();
    await send(program, "restart", [[ts, 9]]);
    await program.waitForProjected();
    // control: a second timestamp written once counts as its own sample
    await send(program, "control", [[ts, 4], [ts + 1000, 5]]);
    await program.waitForProjected();

    // then raw holds the last value once
    const want = { one: [7], two: [8], restart: [9], control: [5] };
    assert.deepEqual(await aggregate(program, "count", "raw", ts), {
      one: [1],
      two: [1],
      restart: [1],
      control: [2],
    });
    assert.deepEqual(await aggregate(program, "sum", "raw", ts), { ...want, control: [9] });
    assert.deepEqual(await aggregate(program, "last", "raw", ts), want);
    // and PromQL sees one sample with the last value
    const at = ts + 2000;
    assert.deepEqual(await promql(program, "count_over_time(policy[5m])", at), {
      one: "1",
      two: "1",
      restart: "1",
      control: "2",
    });
    assert.deepEqual(await promql(program, "sum_over_time(policy[5m])", at), {
      one: "7",
      two: "8",
      restart: "9",
      control: "9",
    });
    assert.deepEqual(await promql(program, "policy", at), { one: "7", two: "8", restart: "9", control: "5" });
    // and the rollups count the repeat written in the same request once, with its last value
    for (const resolution of ["1m", "1h"]) {
      const count = await aggregate(program, "count", resolution, ts);
      const sum = await aggregate(program, "sum", resolution, ts);
      assert.deepEqual([count.one, sum.one, count.control, sum.control], [[1], [7], [2], [9]], resolution);
    }
  });
});

Deno.test({
  name: "sample policy: rollups count a repeat written in a later batch once " +
    "(not yet: a partial rollup state cannot drop a replaced value; raw and PromQL do)",
  ignore: true,
  fn: async () => {
    await withProgram({ tenants: TENANTS }, async (program) => {
      const ts = Math.floor(Date.now() / MINUTE) * MINUTE - MINUTE;
      await send(program, "two", [[ts, 2]]);
      await program.waitForProjected();
      await send(program, "two", [[ts, 8]]);
      await program.waitForProjected();
      assert.deepEqual(await aggregate(program, "count", "1m", ts), { two: [1] });
      assert.deepEqual(await aggregate(program, "sum", "1m", ts), { two: [8] });
    });
  },
});
