/**
 * Bad input against the real program, TESTING.md rows 4 and 5: malformed series and
 * samples outside the accepted time window, by remote write and the native format.
 * Each request mixes bad series with valid ones: the bad ones are rejected with their
 * reasons and counted, the valid ones are read back, another tenant's data is untouched
 * and no answer is a 5xx. A rejected far-future sample must not move the watermark:
 * a sample just inside the allowed lateness after it is on time, and a control sample
 * outside the lateness is counted late (so the test can see a watermark that moved).
 */
import assert from "node:assert/strict";
import * as snappyWasm from "snappy-wasm";
import { metricValues } from "../support/prometheus-text.ts";
import { type Program, withProgram } from "../support/program.ts";
import { encodeWriteRequestV1, series, type TimeSeriesV1 } from "../support/remote-write-proto.ts";

await (snappyWasm as unknown as { default: () => Promise<unknown> }).default();

const TENANTS = { acme: "acme-series-key-6a0f", globex: "globex-series-key-d913" };
const ACME = TENANTS.acme;
const GLOBEX = TENANTS.globex;
const HOUR = 3_600_000;
const YEAR = 365 * 86_400_000;
const V1 = "application/x-protobuf";

function remoteWrite(program: Program, key: string, body: Uint8Array) {
  return program.post("/api/v1/write", snappyWasm.compress_raw(body), {
    contentType: V1,
    headers: { authorization: `Bearer ${key}`, "content-encoding": "snappy" },
  });
}

async function stored(program: Program, key: string, metric: string, now: number): Promise<number> {
  const reply = await program.query(key, {
    metric,
    agg: "count",
    by: [],
    from: now - 8 * 24 * HOUR,
    to: now + 12 * YEAR,
    step: 12 * YEAR,
    resolution: "raw",
  });
  return reply.series.reduce((n, s) => n + s.points.reduce((m, [, v]) => m + Number(v), 0), 0);
}

/** One valid series and each malformed kind of TESTING.md row 4, as remote write series. */
function malformed(metric: string, now: number): { sent: TimeSeriesV1[]; reasons: RegExp[] } {
  const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`l${i}`, "v"]));
  const sent: TimeSeriesV1[] = [
    series(metric, { case: "ok" }, [[now - 1000, 1]]),
    series(metric, { case: "huge", big: "x".repeat(1024 * 1024) }, [[now, 1]]),
    series(metric, { case: "many", ...hundred }, [[now, 1]]),
    series(metric, { case: "bad", "bad-name": "x" }, [[now, 1]]),
    series(metric, { case: "reserved", __meta: "x" }, [[now, 1]]),
    {
      labels: [{ name: "__name__", value: metric }, { name: "case", value: "a" }, {
        name: "case",
        value: "b",
      }],
      samples: [{ timestamp: now, value: 1 }],
    },
    series(metric, { case: "ok2" }, [[now - 500, 2], [now, 3]]),
  ];
  const reasons = [
    /^series 1 \(\w+\): label "big" has a value 1048576 characters long, over the limit of 2048$/,
    /^series 2 \(\w+\): series has 101 labels, over the limit of 30$/,
    /^series 3 \(\w+\): label name "bad-name" is not a valid name/,
    /^series 4 \(\w+\): label name "__meta" is not a valid name/,
    /^series 5 \(\w+\): label "case" is given twice$/,
  ];
  return { sent, reasons };
}

Deno.test("bad input: malformed series are rejected one by one with reasons, valid ones kept, never a 5xx", async () => {
  await withProgram({ tenants: TENANTS }, async (program) => {
    const now = Date.now();
    const before = await remoteWrite(
      program,
      GLOBEX,
      encodeWriteRequestV1({ timeseries: [series("row4", {}, [[now, 9]])] }),
    );
    assert.equal(before.status, 204);

    const { sent, reasons } = malformed("row4", now);
    const res = await remoteWrite(program, ACME, encodeWriteRequestV1({ timeseries: sent }));
    assert.equal(res.status, 400, String(res.body));
    assert.equal(res.headers.get("x-prometheus-remote-write-samples-written"), "3");
    const lines = String(res.body).trimEnd().split("\n");
    assert.equal(lines[0], "remote write 1.0: 3 samples written, 5 series rejected");
    assert.equal(lines.length, 1 + reasons.length, String(res.body));
    reasons.forEach((reason, i) => assert.match(lines[1 + i], reason));

    // The same series as native NDJSON: a 202 naming the rejected ones.
    // The native format carries labels as a JSON object; the duplicate name is written
    // into its text, where a JSON parser would keep only the last value.
    const ndjson = sent.map((s) => {
      const labels = s.labels.filter((l) => l.name !== "__name__").map((l) =>
        `${JSON.stringify(l.name)}:${JSON.stringify(l.value)}`
      );
      const ts = s.samples!.map((x) => x.timestamp);
      const values = s.samples!.map((x) => x.value);
      return `{"metric":"row4_native","labels":{${
        labels.join(",")
      }},"timestamps":[${ts}],"values":[${values}]}`;
    }).join("\n");
    const native = await program.post("/v1/samples", ndjson, {
      key: ACME,
      contentType: "application/x-ndjson",
    });
    assert.equal(native.status, 202, JSON.stringify(native.body));
    const reply = native.body as { accepted: number; errors: { index: number; reason: string }[] };
    assert.equal(reply.accepted, 3);
    assert.equal(reply.errors.length, reasons.length, JSON.stringify(reply.errors));
    assert.deepEqual(reply.errors.map((e) => e.index), [1, 2, 3, 4, 5]);
    reply.errors.forEach((e, i) => assert.match(`series ${e.index} (row4): ${e.reason}`, reasons[i]));

    // A truncated protobuf is refused as a whole with a reason, and costs nothing else.
    const whole = encodeWriteRequestV1({ timeseries: [series("row4_cut", { i: "1" }, [[now, 1]])] });
    for (const cut of [whole.length - 3, 5, 1]) {
      const truncated = await remoteWrite(program, ACME, whole.subarray(0, cut));
      assert.equal(truncated.status, 400, `cut at ${cut}: ${String(truncated.body)}`);
      assert.match(String(truncated.body), /malformed protobuf: .+ at byte \d+/);
    }
    const otlp = await program.post("/v1/metrics", new Uint8Array([0x0a, 0x20, 0x0a, 0x05]), {
      key: ACME,
      contentType: "application/x-protobuf",
    });
    assert.equal(otlp.status, 400, JSON.stringify(otlp.body));

    const rejected = metricValues(await program.metrics(), "lookout_samples_rejected_total", {
      tenant: "acme",
    });
    assert.deepEqual(rejected, [5 + 5], "five remote write and five native series of one sample each");

    await program.waitForProjected();
    assert.equal(await stored(program, ACME, "row4", now), 3);
    assert.equal(await stored(program, ACME, "row4_native", now), 3);
    assert.equal(await stored(program, ACME, "row4_cut", now), 0);
    assert.equal(await stored(program, GLOBEX, "row4", now), 1);
  });
});

Deno.test("bad input: 10 years ahead or older than the raw retention is rejected with a reason; watermarks unchanged", async () => {
  // Lateness 2 min: a sample 30 s behind the newest accepted one is on time, one 10 min
  // behind is late. A watermark moved by the far-future sample would make both late.
  await withProgram(
    { tenants: TENANTS, env: { LOOKOUT_ALLOWED_LATENESS_SECONDS: "120" } },
    async (program) => {
      const now = Date.now();
      const probe = (ts: number[], values: number[]) => ({
        metric: "row5",
        labels: {},
        timestamps: ts,
        values,
      });
      assert.equal((await program.post("/v1/samples", probe([now], [1]), { key: ACME })).status, 202);

      const mixed = await program.post(
        "/v1/samples",
        probe([now + 10 * YEAR, now - 8 * 24 * HOUR, now - 1000], [2, 3, 4]),
        {
          key: ACME,
        },
      );
      assert.equal(mixed.status, 202, JSON.stringify(mixed.body));
      assert.deepEqual((mixed.body as { rejectedSamples: unknown }).rejectedSamples, {
        too_far_in_future: 1,
        too_old: 1,
      });
      const alone = await program.post("/v1/samples", probe([now + 10 * YEAR], [5]), { key: ACME });
      assert.equal(alone.status, 400);
      assert.match(JSON.stringify(alone.body), /the only sample is more than 10m in the future/);
      const rw = await remoteWrite(
        program,
        ACME,
        encodeWriteRequestV1({
          timeseries: [series("row5", {}, [[now + 10 * YEAR, 6], [now - 30 * 86_400_000, 7]])],
        }),
      );
      assert.equal(rw.status, 400);
      assert.match(
        String(rw.body),
        /all 2 samples are outside the accepted time window: 1 older than the raw retention of 7d, 1 more than 10m in the future/,
      );

      const late = async () =>
        metricValues(await program.metrics(), "lookout_late_samples_total", { tenant: "acme" }).reduce(
          (a, b) => a + b,
          0,
        );
      await program.waitForProjected();
      assert.equal(
        (await program.post("/v1/samples", probe([now - 30_000], [8]), { key: ACME })).status,
        202,
      );
      await program.waitForProjected();
      const onTime = await late();
      // Control: 10 min behind is past the lateness, and the counter sees it.
      assert.equal(
        (await program.post("/v1/samples", probe([now - 600_000], [9]), { key: ACME })).status,
        202,
      );
      await program.waitForProjected();
      const control = await late();
      console.log(
        `late samples after the rejected far-future ones: ${onTime} (30 s behind), control 10 min behind: ${control}`,
      );
      assert.equal(onTime, 0, "the rejected samples must not have moved the watermark");
      assert.equal(control, 1);
      const rejected = metricValues(await program.metrics(), "lookout_samples_rejected_total", {
        tenant: "acme",
      });
      assert.equal(rejected.reduce((a, b) => a + b, 0), 5);
      assert.equal(
        await stored(program, ACME, "row5", now),
        4,
        "now, now - 1 s, now - 30 s and the late one",
      );
    },
  );
});
