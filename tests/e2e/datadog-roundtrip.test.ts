/**
 * End to end through the real program: Datadog v2 payloads in (gzip, zlib deflate, raw
 * deflate and plain), `POST /v1/query` out, compared with an oracle computed from the
 * generated samples, at raw, 1m and 1h resolution.
 *
 * The data set spans two full hours and half of a third, starting at an hour boundary
 * three hours ago, and is sent in shuffled order. The allowed lateness is set to 6 h so
 * that order cannot make any of it late; lateness itself is covered by one probe sample
 * sent 7 h behind its partition.
 */
import assert from "node:assert/strict";
import { metricValues } from "../support/prometheus-text.ts";
import { type Point, type Program, type QueryReply, withProgram } from "../support/program.ts";
import { type ExactAggregation, SampleOracle } from "../support/sample-oracle.ts";
import { seededRandom } from "../support/seeded-random.ts";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const LATENESS_HOURS = 6;
const ALPHA = 0.01;
const SEED = 20240611;

const TENANTS = { acme: "acme-dd-key-5b81e2", globex: "globex-dd-key-0c9f77" };
const ACME = TENANTS.acme;
const GLOBEX = TENANTS.globex;

interface DatadogSeries {
  readonly metric: string;
  readonly type?: number;
  readonly tags?: string[];
  readonly resources?: { type: string; name: string }[];
  /** What the series must be stored as, written out by hand rather than derived. */
  readonly labels: Record<string, string>;
}

const SERIES: readonly DatadogSeries[] = [
  {
    metric: "system.load.1",
    type: 3,
    tags: ["host:web-1", "env:prod"],
    labels: { __name__: "system_load_1", host: "web-1", env: "prod" },
  },
  {
    metric: "system.load.1",
    tags: ["env:prod"],
    resources: [{ type: "host", name: "web-2" }],
    labels: { __name__: "system_load_1", host: "web-2", env: "prod" },
  },
  {
    metric: "system.load.1",
    type: 0,
    tags: ["env:staging", "canary", "availability-zone:eu-west-1a"],
    resources: [{ type: "host", name: "web-3" }],
    labels: {
      __name__: "system_load_1",
      host: "web-3",
      env: "staging",
      canary: "true",
      availability_zone: "eu-west-1a",
    },
  },
  {
    metric: "app.request.latency",
    type: 1,
    tags: ["service:api", "url:http://api.internal/v1"],
    labels: { __name__: "app_request_latency", service: "api", url: "http://api.internal/v1" },
  },
];

const QUERIED_METRICS = ["system_load_1", "app_request_latency"];
const EXACT: readonly ExactAggregation[] = ["count", "sum", "min", "max", "last", "avg"];
const PERCENTILES = [["p50", 0.5], ["p90", 0.9], ["p95", 0.95], ["p99", 0.99]] as const;
const TIERS = [
  { resolution: "raw", step: MINUTE },
  { resolution: "1m", step: MINUTE },
  { resolution: "1h", step: HOUR },
] as const;

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

interface DataSet {
  readonly start: number;
  readonly end: number;
  readonly oracle: SampleOracle;
  /** Per series, its points as Datadog sends them (timestamps in seconds). */
  readonly points: { timestamp: number; value: number }[][];
}

/**
 * Irregular intervals of 1–30 s with a 7-minute gap in one series and a 250 ms burst
 * in another, values multiples of 0.25 (some negative, some zero) so every sum is exact.
 */
function generate(start: number, end: number): DataSet {
  const random = seededRandom(SEED);
  const oracle = new SampleOracle();
  const points = SERIES.map((def, i) => {
    const out: { timestamp: number; value: number }[] = [];
    const gap = i === 1 ? [start + 40 * MINUTE, start + 47 * MINUTE] : [0, 0];
    const burst = i === 0 ? [start + 70 * MINUTE, start + 71 * MINUTE] : [0, 0];
    for (let t = start + random.int(0, 20) * 250; t < end;) {
      if (t < gap[0] || t >= gap[1]) {
        const value = i === 3 ? random.int(1, 40_000) * 0.25 : random.int(-40, 4000) * 0.25;
        out.push({ timestamp: t / 1000, value });
        oracle.add(seriesKey(def.labels), t, value);
      }
      t += t >= burst[0] && t < burst[1] ? 250 : random.int(1, 30) * 1000;
    }
    return out;
  });
  return { start, end, oracle, points };
}

function payload(data: DataSet, from: number, to: number): { series: Record<string, unknown>[] } {
  return {
    series: SERIES.map((def, i) => ({
      metric: def.metric,
      ...(def.type === undefined ? {} : { type: def.type }),
      ...(def.tags ? { tags: def.tags } : {}),
      ...(def.resources ? { resources: def.resources } : {}),
      points: data.points[i].filter((p) => p.timestamp * 1000 >= from && p.timestamp * 1000 < to),
    })).filter((s) => (s.points as unknown[]).length > 0),
  };
}

const ENCODINGS = ["gzip", "deflate", undefined, "deflate-raw"] as const;

/** Sends the data set in 10-minute requests, shuffled, three at a time; returns the first reply. */
async function sendDataSet(program: Program, data: DataSet): Promise<unknown> {
  const windows: number[] = [];
  for (let w = data.start; w < data.end; w += 10 * MINUTE) windows.push(w);
  const order = seededRandom(SEED + 1).shuffled(windows.map((w, i) => ({ w, i })));
  let firstReply: unknown;
  const queue = [...order];
  const sender = async () => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      const body = payload(data, job.w, job.w + 10 * MINUTE);
      if (job.i === 0) {
        // Bad series beside the valid ones: each is rejected with its reason.
        body.series.push(
          {
            metric: "system.load.1",
            tags: ["env:a", "env:b"],
            points: [{ timestamp: job.w / 1000, value: 1 }],
          },
          {
            metric: "system.load.1",
            type: 7,
            tags: ["host:web-9"],
            points: [{ timestamp: job.w / 1000, value: 1 }],
          },
        );
      }
      const encoding = ENCODINGS[job.i % ENCODINGS.length];
      const res = await program.post("/api/v2/series", body, { key: ACME, encoding });
      assert.equal(res.status, 202, `window ${job.i} (${encoding ?? "plain"}): ${JSON.stringify(res.body)}`);
      if (job.i === 0) firstReply = res.body;
      else assert.deepEqual(res.body, { errors: [] }, `window ${job.i}`);
    }
  };
  await Promise.all([sender(), sender(), sender()]);
  return firstReply;
}

function bySeries(reply: QueryReply): Map<string, Point[]> {
  const out = new Map<string, Point[]>();
  for (const s of reply.series) {
    const key = seriesKey(s.labels);
    assert.ok(!out.has(key), `series ${key} answered twice`);
    out.set(key, s.points);
  }
  return out;
}

function expectedKeys(data: DataSet, metric: string): string[] {
  return SERIES.filter((s) => s.labels.__name__ === metric).map((s) => seriesKey(s.labels))
    .filter((k) => data.oracle.series.includes(k)).sort();
}

function withinGuarantee(got: number, exact: number): boolean {
  return Math.abs(got - exact) <= ALPHA * Math.abs(exact) * (1 + 1e-9);
}

Deno.test("Datadog v2 round trip: ingest, rollups and queries agree with the oracle", async (t) => {
  const now = Date.now();
  const start = Math.floor(now / HOUR) * HOUR - 3 * HOUR;
  const data = generate(start, start + 2 * HOUR + 30 * MINUTE);
  const range = { from: start, to: start + 3 * HOUR };
  const began = performance.now();

  await withProgram({
    tenants: TENANTS,
    env: { LOOKOUT_ALLOWED_LATENESS_SECONDS: String(LATENESS_HOURS * 3600) },
  }, async (program) => {
    // globex sends the same metric and labels as one of acme's series, with other values:
    // any leak between tenants changes acme's answers or globex's.
    const globexPoints = [0, 1, 2].map((k) => ({
      timestamp: (start + k * MINUTE + 5000) / 1000,
      value: 7.5 + k,
    }));
    const globexSent = await program.post("/api/v2/series", {
      series: [{ metric: "system.load.1", tags: ["host:web-1", "env:prod"], points: globexPoints }],
    }, { key: GLOBEX });
    assert.equal(globexSent.status, 202);

    const started = performance.now();
    const firstReply = await sendDataSet(program, data);
    const sent = performance.now();
    await program.waitForProjected();
    console.log(
      `data set: ${data.oracle.size} samples in ${SERIES.length} series from ${
        new Date(start).toISOString()
      }; ` +
        `program ready in ${(started - began).toFixed(0)} ms, sent in ${(sent - started).toFixed(0)} ms, ` +
        `projected ${(performance.now() - sent).toFixed(0)} ms later`,
    );

    await t.step("the bad series of a request are rejected with their reasons, the rest kept", () => {
      const errors = (firstReply as { errors: string[] }).errors;
      assert.equal(errors.length, 2, JSON.stringify(errors));
      const base = payload(data, start, start + 10 * MINUTE).series.length;
      assert.match(
        errors[0],
        new RegExp(`^series ${base} \\(system\\.load\\.1\\): label "env" is given twice`),
      );
      assert.match(errors[1], new RegExp(`^series ${base + 1} \\(system\\.load\\.1\\): "type" 7 is not`));
    });

    await t.step("Datadog names and tags map to the documented metric and labels", async () => {
      const reply = await program.query(ACME, {
        metric: "system_load_1",
        agg: "count",
        ...range,
        step: HOUR,
      });
      const labels = reply.series.map((s) => s.labels).sort((a, b) => a.host.localeCompare(b.host));
      assert.deepEqual(labels, SERIES.slice(0, 3).map((s) => s.labels));
      const dotted = await program.post("/v1/query", { metric: "system.load.1", ...range, step: HOUR }, {
        key: ACME,
      });
      assert.equal(dotted.status, 400, "the Datadog spelling is not a stored metric name");
    });

    for (const tier of TIERS) {
      await t.step(
        `${tier.resolution}: count, sum, min, max, last and avg equal the oracle exactly`,
        async () => {
          for (const metric of QUERIED_METRICS) {
            for (const agg of EXACT) {
              const reply = await program.query(ACME, {
                metric,
                agg,
                ...range,
                step: tier.step,
                resolution: tier.resolution,
              });
              assert.equal(reply.resolution, tier.resolution);
              const got = bySeries(reply);
              assert.deepEqual(
                [...got.keys()].sort(),
                expectedKeys(data, metric),
                `${metric} ${agg}: series`,
              );
              for (const [key, points] of got) {
                assert.deepEqual(points, data.oracle.points(key, tier.step, agg), `${metric} ${agg} ${key}`);
              }
            }
          }
        },
      );
    }

    await t.step("raw: percentiles are the exact order statistics", async () => {
      for (const metric of QUERIED_METRICS) {
        for (const [agg, q] of PERCENTILES) {
          const reply = await program.query(ACME, { metric, agg, ...range, step: MINUTE, resolution: "raw" });
          for (const [key, points] of bySeries(reply)) {
            assert.deepEqual(points, data.oracle.orderStatistics(key, MINUTE, q), `${metric} ${agg} ${key}`);
          }
        }
      }
    });

    for (const tier of TIERS.filter((x) => x.resolution !== "raw")) {
      await t.step(
        `${tier.resolution}: percentiles within ${ALPHA * 100}% of the exact order statistic`,
        async () => {
          let checked = 0;
          for (const metric of QUERIED_METRICS) {
            for (const [agg, q] of PERCENTILES) {
              const reply = await program.query(ACME, {
                metric,
                agg,
                ...range,
                step: tier.step,
                resolution: tier.resolution,
              });
              const got = bySeries(reply);
              assert.deepEqual([...got.keys()].sort(), expectedKeys(data, metric));
              for (const [key, points] of got) {
                const expected = data.oracle.orderStatistics(key, tier.step, q);
                assert.deepEqual(
                  points.map((p) => p[0]),
                  expected.map((p) => p[0]),
                  `${metric} ${agg} ${key}: buckets`,
                );
                points.forEach(([bucket, value], i) => {
                  const exact = expected[i][1];
                  assert.equal(typeof value, "number");
                  assert.ok(
                    withinGuarantee(value as number, exact),
                    `${metric} ${agg} ${key} at ${
                      new Date(bucket).toISOString()
                    }: ${value} vs exact ${exact}`,
                  );
                  checked++;
                });
              }
            }
          }
          assert.ok(checked >= 48, `only ${checked} percentile points checked`);
        },
      );
    }

    await t.step("no key, or a key that is another tenant's name: 401", async () => {
      const body = { series: [{ metric: "auth.probe", points: [{ timestamp: now / 1000, value: 1 }] }] };
      assert.equal((await program.post("/api/v2/series", body)).status, 401);
      assert.equal((await program.post("/api/v2/series", body, { key: "globex" })).status, 401);
      assert.equal((await program.post("/api/v2/series", body, { key: "acme" })).status, 401);
      assert.equal(
        (await program.post("/api/v2/series", body, { headers: { authorization: "Bearer globex" } })).status,
        401,
      );
      assert.equal(
        (await program.post("/v1/query", { metric: "auth_probe", ...range, step: HOUR })).status,
        401,
      );
      const unknownKey = await program.post("/v1/query", { metric: "auth_probe", ...range, step: HOUR }, {
        key: ACME + "x",
      });
      assert.equal(unknownKey.status, 401);
    });

    await t.step("the tenant comes from the key, never from a header naming another tenant", async () => {
      const body = {
        series: [{ metric: "tenant.probe", points: [{ timestamp: (now - MINUTE) / 1000, value: 2.5 }] }],
      };
      const res = await program.post("/api/v2/series", body, {
        key: ACME,
        headers: { "x-scope-orgid": "globex", "x-tenant": "globex", "dd-tenant": "globex" },
      });
      assert.equal(res.status, 202);
      await program.waitForProjected();
      const q = {
        metric: "tenant_probe",
        agg: "count",
        from: now - HOUR,
        to: now + HOUR,
        step: HOUR,
        resolution: "raw",
      };
      assert.equal((await program.query(ACME, q)).series.length, 1);
      assert.equal((await program.query(GLOBEX, q)).series.length, 0);
    });

    await t.step(
      "tenant isolation: each tenant sees only its own series of a shared metric name",
      async () => {
        for (const tier of TIERS) {
          const q = {
            metric: "system_load_1",
            agg: "count",
            ...range,
            step: tier.step,
            resolution: tier.resolution,
          };
          const globex = await program.query(GLOBEX, q);
          assert.equal(globex.series.length, 1, `${tier.resolution}: ${JSON.stringify(globex.series)}`);
          assert.deepEqual(globex.series[0].labels, {
            __name__: "system_load_1",
            host: "web-1",
            env: "prod",
          });
          const total = globex.series[0].points.reduce((n, p) => n + (p[1] as number), 0);
          assert.equal(total, globexPoints.length, tier.resolution);
          const sum = await program.query(GLOBEX, { ...q, agg: "sum", by: [] });
          assert.equal(sum.series[0].points.reduce((n, p) => n + (p[1] as number), 0), 7.5 + 8.5 + 9.5);
          const latency = await program.query(GLOBEX, { ...q, metric: "app_request_latency" });
          assert.equal(latency.series.length, 0, `${tier.resolution}: globex must not see acme's metric`);
        }
        const series = await program.get("/v1/series?metric=app_request_latency", GLOBEX);
        assert.equal(series.status, 200);
        assert.deepEqual(series.body, { series: [] });
      },
    );

    await t.step("a retried request with the same Idempotency-Key is counted once", async () => {
      const body = {
        series: [{
          metric: "idempotency.probe",
          points: [1, 2, 3, 4, 5].map((k) => ({
            timestamp: (now - 10 * MINUTE + k * 1000) / 1000,
            value: k * 0.25,
          })),
        }],
      };
      const q = {
        metric: "idempotency_probe",
        agg: "count",
        by: [],
        from: now - HOUR,
        to: now + HOUR,
        step: 2 * HOUR,
      };
      const count = async (resolution: string, agg = "count") => {
        await program.waitForProjected();
        const reply = await program.query(ACME, { ...q, agg, resolution });
        return reply.series.length === 0
          ? 0
          : reply.series[0].points.reduce((n, p) => n + (p[1] as number), 0);
      };
      // The retry carries other values: had it been written, raw would hold them.
      const doubled = {
        series: body.series.map((s) => ({
          ...s,
          points: s.points.map((p) => ({ ...p, value: 2 * p.value })),
        })),
      };
      for (const [encoding, sent] of [["gzip", body], [undefined, doubled]] as const) {
        const res = await program.post("/api/v2/series", sent, {
          key: ACME,
          encoding,
          headers: { "idempotency-key": "retry-7d1c" },
        });
        assert.equal(res.status, 202);
      }
      assert.equal(await count("raw"), 5);
      assert.equal(await count("raw", "sum"), 3.75);
      assert.equal(await count("1h"), 5);
      // Control: the doubled samples under another key are a new request, and they replace
      // the first values (the sample policy: the last written value of a timestamp wins).
      const again = await program.post("/api/v2/series", doubled, {
        key: ACME,
        headers: { "idempotency-key": "another-request-91e0" },
      });
      assert.equal(again.status, 202);
      assert.equal(await count("raw"), 5);
      assert.equal(await count("raw", "sum"), 7.5);
    });

    await t.step(
      "samples older than the raw retention or over 10 min ahead are rejected with a reason",
      async () => {
        // The window is the program's now, not the test's start: on a loaded machine
        // the steps before this one take more than the minute of slack below.
        const now = Date.now();
        const point = (ts: number) => [{ timestamp: ts / 1000, value: 1.25 }];
        const res = await program.post("/api/v2/series", {
          series: [
            { metric: "window.probe", tags: ["case:ok"], points: point(now - 2 * MINUTE) },
            { metric: "window.probe", tags: ["case:old"], points: point(now - 7 * DAY - HOUR) },
            { metric: "window.probe", tags: ["case:future"], points: point(now + 11 * MINUTE) },
            { metric: "window.probe", tags: ["case:near-future"], points: point(now + 5 * MINUTE) },
          ],
        }, { key: ACME, encoding: "gzip" });
        assert.equal(res.status, 202);
        const errors = (res.body as { errors: string[] }).errors;
        assert.equal(errors.length, 2, JSON.stringify(errors));
        assert.match(
          errors[0],
          /^series 1 \(window[._]probe\): the only sample is older than the raw retention of 7d$/,
        );
        assert.match(
          errors[1],
          /^series 2 \(window[._]probe\): the only sample is more than 10m in the future$/,
        );
        await program.waitForProjected();
        const reply = await program.query(ACME, {
          metric: "window_probe",
          agg: "count",
          from: now - 8 * DAY,
          to: now + HOUR,
          step: HOUR,
          resolution: "raw",
        });
        assert.deepEqual(reply.series.map((s) => s.labels.case).sort(), ["near-future", "ok"]);
        const metrics = await program.metrics();
        assert.deepEqual(
          metricValues(metrics, "lookout_samples_rejected_total", { tenant: "acme", reason: "too_old" }),
          [1],
        );
        assert.deepEqual(
          metricValues(metrics, "lookout_samples_rejected_total", {
            tenant: "acme",
            reason: "too_far_in_future",
          }),
          [1],
        );
        const allBad = await program.post("/api/v2/series", {
          series: [{ metric: "window.probe", tags: ["case:old"], points: point(now - 8 * DAY) }],
        }, { key: ACME });
        assert.equal(allBad.status, 400, "a request with nothing valid is refused");
        assert.match(JSON.stringify(allBad.body), /older than the raw retention of 7d/);
      },
    );

    await t.step(
      "a sample after its window closed is in raw, not in the rollups, and counted as late",
      async () => {
        const metrics = await program.metrics();
        assert.deepEqual(
          metricValues(metrics, "lookout_late_samples_total"),
          [],
          "nothing late before the probe",
        );
        const probe = (ts: number, value: number) => ({
          series: [{ metric: "late.probe", tags: ["host:web-1"], points: [{ timestamp: ts / 1000, value }] }],
        });
        const onTime = now;
        const late = now - (LATENESS_HOURS + 1) * HOUR;
        assert.equal((await program.post("/api/v2/series", probe(onTime, 3.5), { key: ACME })).status, 202);
        assert.equal((await program.post("/api/v2/series", probe(late, 4.75), { key: ACME })).status, 202);
        await program.waitForProjected();
        const q = { metric: "late_probe", agg: "sum", by: [], from: now - 8 * HOUR, to: now + HOUR };
        const bucket = (ts: number, width: number) => Math.floor(ts / width) * width;
        const raw = await program.query(ACME, { ...q, step: MINUTE, resolution: "raw" });
        assert.deepEqual(raw.series[0]?.points, [[bucket(late, MINUTE), 4.75], [
          bucket(onTime, MINUTE),
          3.5,
        ]]);
        const oneMinute = await program.query(ACME, { ...q, step: MINUTE, resolution: "1m" });
        assert.deepEqual(oneMinute.series[0]?.points, [[bucket(onTime, MINUTE), 3.5]]);
        const oneHour = await program.query(ACME, { ...q, step: HOUR, resolution: "1h" });
        assert.deepEqual(oneHour.series[0]?.points, [[bucket(onTime, HOUR), 3.5]]);
        const after = await program.metrics();
        assert.deepEqual(metricValues(after, "lookout_late_samples_total", { tenant: "acme" }), [1]);
        assert.deepEqual(metricValues(after, "lookout_late_samples_total", { tenant: "globex" }), []);
      },
    );
    console.log(`checks done ${(performance.now() - began).toFixed(0)} ms after start`);
  });
  console.log(`stopped and cleaned up ${(performance.now() - began).toFixed(0)} ms after start`);
});
