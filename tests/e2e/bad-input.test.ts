/**
 * Bad input against the real program (TESTING.md rows 3, 8 and 9), each checking the
 * status, the reason and that nothing else was lost (rows 1, 2 and 10 are in
 * bad-input-tenancy.test.ts, 4 and 5 in bad-input-series.test.ts, 6 and 7 in
 * bad-input-values.test.ts):
 * - a gzip bomb (1 GiB of zeros), a zstd bomb and a snappy block declaring 4 GiB get
 *   413, and the program's peak resident memory grows by about the decompressed limit,
 *   not by what the bodies claim (the figures are printed);
 * - a tenant over its ingest rate gets 429 with Retry-After while another tenant's
 *   request latency stays where it was without the flood (medians printed);
 * - one tenant sending 1M new series stops at its active-series limit: the series past
 *   it are rejected and counted, its existing series keep flowing, memory stays bounded.
 */
import assert from "node:assert/strict";
import { metricValues } from "../support/prometheus-text.ts";
import { type Program, withProgram } from "../support/program.ts";

const TENANTS = { acme: "acme-bad-input-key-1", globex: "globex-bad-input-key-2" };
const MiB = 1024 * 1024;

function line(metric: string, labels: Record<string, string>, ts: number, value: number): string {
  return JSON.stringify({ metric, labels, timestamps: [ts], values: [value] });
}

async function post(program: Program, path: string, body: BodyInit, headers: Record<string, string>) {
  const started = performance.now();
  const res = await fetch(program.url + path, {
    method: "POST",
    body,
    headers,
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, ms: performance.now() - started };
}

async function count(program: Program, key: string, metric: string, from: number): Promise<number> {
  const reply = await program.query(key, {
    metric,
    agg: "count",
    by: [],
    from,
    to: Date.now() + 60_000,
    step: 3_600_000,
    resolution: "raw",
  });
  return reply.series.reduce((n, s) => n + s.points.reduce((m, [, v]) => m + Number(v), 0), 0);
}

/** 1 GiB of zeros gzipped as a stream, so the test never holds the gigabyte itself. */
async function gzipBomb(bytes: number): Promise<Uint8Array> {
  const chunk = new Uint8Array(MiB);
  let sent = 0;
  const zeros = new ReadableStream<BufferSource>({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.length;
    },
  });
  return new Uint8Array(await new Response(zeros.pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}

Deno.test("bad input: decompression bombs and a 4 GiB snappy block get 413 within the memory limit", async () => {
  const limit = 16 * MiB;
  await withProgram(
    { tenants: TENANTS, env: { LOOKOUT_MAX_DECOMPRESSED_BYTES: String(limit) } },
    async (program) => {
      const key = { authorization: `Bearer ${TENANTS.acme}` };
      const now = Date.now();
      const ok = await post(program, "/v1/samples", line("bomb_ok", {}, now - 1000, 1), key);
      assert.equal(ok.status, 202, ok.text);
      const gzip = await gzipBomb(1024 * MiB);
      const zstd = (await import("node:zlib")).zstdCompressSync(new Uint8Array(256 * MiB));
      const before = program.memory();
      const cases: [string, string, Uint8Array, Record<string, string>][] = [
        ["gzip, 1 GiB of zeros", "/v1/samples", gzip, { "content-encoding": "gzip" }],
        ["zstd, 256 MiB of zeros", "/api/v2/series", zstd, { "content-encoding": "zstd" }],
        [
          "snappy block declaring 4 GiB",
          "/api/v1/write",
          Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x10, 0, 1]),
          {
            "content-encoding": "snappy",
            "content-type": "application/x-protobuf",
          },
        ],
      ];
      for (const [name, path, body, headers] of cases) {
        const res = await post(program, path, body as Uint8Array<ArrayBuffer>, { ...key, ...headers });
        assert.equal(res.status, 413, `${name}: ${res.text}`);
        assert.match(
          JSON.parse(res.text).detail,
          /decompresses to more than 16777216 bytes|declares 4294967296 bytes/,
        );
      }
      const after = program.memory();
      const grown = after.peak - before.peak;
      console.log(
        `bombs: gzip ${gzip.length} B, zstd ${zstd.length} B sent; peak resident memory ${
          (before.peak / MiB).toFixed(0)
        } → ${(after.peak / MiB).toFixed(0)} MiB (+${(grown / MiB).toFixed(1)} MiB, limit ${
          limit / MiB
        } MiB)`,
      );
      assert.ok(grown < 4 * limit, `peak grew ${grown} bytes`);
      const rejected = metricValues(await program.metrics(), "lookout_requests_rejected_total", {
        tenant: "acme",
        reason: "payload_too_large",
      });
      assert.deepEqual(rejected, [3]);
      // Nothing else lost: the valid request before the bombs and one after are stored.
      assert.equal((await post(program, "/v1/samples", line("bomb_ok", {}, now, 2), key)).status, 202);
      await program.waitForProjected();
      assert.equal(await count(program, TENANTS.acme, "bomb_ok", now - 60_000), 2);
    },
  );
});

Deno.test("bad input: a tenant over its ingest rate gets 429 + Retry-After; another's latency is unchanged", async () => {
  await withProgram({
    tenants: TENANTS,
    env: { LOOKOUT_TENANT_LIMITS: JSON.stringify({ acme: { ingestRate: 1000, ingestBurst: 2000 } }) },
  }, async (program) => {
    const acme = { authorization: `Bearer ${TENANTS.acme}`, "content-type": "application/x-ndjson" };
    const globex = { authorization: `Bearer ${TENANTS.globex}`, "content-type": "application/x-ndjson" };
    const now = Date.now();
    const body = (tenantMetric: string, n: number, offset: number) =>
      Array.from({ length: n }, (_, i) => line(tenantMetric, { i: String(i) }, now - 10_000 + offset, i))
        .join("\n");
    const globexLatency = async (rounds: number) => {
      const times: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const res = await post(program, "/v1/samples", body("rate_globex", 100, r), globex);
        assert.equal(res.status, 202, res.text);
        times.push(res.ms);
      }
      return times.sort((a, b) => a - b)[times.length >> 1];
    };
    await globexLatency(5); // warm-up
    const baseline = await globexLatency(20);

    assert.equal((await post(program, "/v1/samples", body("rate_acme", 1500, 0), acme)).status, 202);
    const over = await post(program, "/v1/samples", body("rate_acme", 1000, 1), acme);
    assert.equal(over.status, 429, over.text);
    assert.ok(Number(over.headers.get("retry-after")) >= 1);
    assert.match(
      JSON.parse(over.text).detail,
      /^Cannot ingest for tenant "acme": ingest rate over 1000 samples\/s/,
    );

    let flooding = true;
    let refused = 0;
    const floodBody = body("rate_acme", 1000, 2);
    const flood = (async () => {
      for (let r = 2; flooding && r < 10_000; r++) {
        const res = await post(program, "/v1/samples", floodBody, acme);
        if (res.status === 429) refused++;
      }
    })();
    const during = await globexLatency(20);
    flooding = false;
    await flood;
    console.log(
      `globex median latency ${baseline.toFixed(1)} ms alone, ${
        during.toFixed(1)
      } ms while acme is refused ` +
        `(${refused} requests got 429)`,
    );
    assert.ok(refused > 0);
    assert.ok(during < baseline * 3 + 25, `globex ${during} ms during the flood, ${baseline} ms before`);
    await program.waitForProjected();
    // 45 requests, but the rounds of each measurement repeat the same 20 bodies, which
    // count once (same body, same idempotency key): 20 × 100 samples.
    assert.equal(await count(program, TENANTS.globex, "rate_globex", now - 60_000), 2000);
  });
});

Deno.test("bad input: 1M new series stop at the tenant's limit; its existing series keep flowing", async () => {
  const LIMIT = 10_000;
  await withProgram({
    tenants: TENANTS,
    env: { LOOKOUT_TENANT_LIMITS: JSON.stringify({ acme: { maxActiveSeries: LIMIT } }) },
  }, async (program) => {
    const acme = { authorization: `Bearer ${TENANTS.acme}`, "content-type": "application/x-ndjson" };
    const now = Date.now();
    const existing = (offset: number) =>
      Array.from(
        { length: 1000 },
        (_, i) => line("card_existing", { i: String(i) }, now - 60_000 + offset, i),
      )
        .join("\n");
    assert.equal((await post(program, "/v1/samples", existing(0), acme)).status, 202);
    const before = program.memory();
    const BODIES = 100;
    let accepted = 0;
    for (let b = 0; b < BODIES; b++) {
      const lines = Array.from(
        { length: 10_000 },
        (_, i) => line("card_new", { s: `${b}-${i}` }, now - 30_000, 1),
      );
      const res = await post(program, "/v1/samples", lines.join("\n"), acme);
      if (res.status === 202) accepted += JSON.parse(res.text).accepted;
      else assert.equal(res.status, 400, res.text);
      if (b === BODIES - 1) {
        assert.match(JSON.parse(res.text).errors[0].reason, /^the tenant has 10000 active series, its limit/);
      }
      if (b % 25 === 24) {
        const still = await post(program, "/v1/samples", existing(b + 1), acme);
        assert.equal(JSON.parse(still.text).accepted, 1000, `existing series after ${b + 1} bodies`);
      }
    }
    const after = program.memory();
    console.log(
      `1M new series: ${accepted} admitted (limit ${LIMIT}, 1000 existing); resident ${
        (before.rss / MiB).toFixed(0)
      } → ${(after.rss / MiB).toFixed(0)} MiB, peak ${(after.peak / MiB).toFixed(0)} MiB`,
    );
    assert.equal(accepted, LIMIT - 1000);
    const rejected = metricValues(await program.metrics(), "lookout_samples_rejected_total", {
      tenant: "acme",
      reason: "cardinality_limit",
    });
    assert.deepEqual(rejected, [1_000_000 - (LIMIT - 1000)]);
    const report = (await program.get("/v1/cardinality", TENANTS.acme)).body as {
      activeSeries: number;
      limits: { activeSeries: unknown };
      topMetrics: unknown;
    };
    assert.equal(report.activeSeries, LIMIT);
    assert.deepEqual(report.limits.activeSeries, { used: LIMIT, limit: LIMIT, ratio: 1 });
    assert.deepEqual(report.topMetrics, [{ metric: "card_new", series: 9000 }, {
      metric: "card_existing",
      series: 1000,
    }]);
    assert.ok(after.rss - before.rss < 1024 * MiB, "memory bounded");
    // globex is not limited by acme's series.
    const globex = await post(program, "/v1/samples", line("card_new", { s: "g" }, now, 1), {
      authorization: `Bearer ${TENANTS.globex}`,
    });
    assert.equal(globex.status, 202);
    await program.waitForProjected();
    assert.equal(await count(program, TENANTS.acme, "card_existing", now - 120_000), 5000);
    const index = (await program.get("/v1/cardinality?limit=3", TENANTS.acme)).body as {
      labelNames: unknown;
      labelValues: { series: number }[];
    };
    assert.deepEqual(index.labelNames, [{ name: "s", series: 9000 }, { name: "i", series: 1000 }]);
    assert.deepEqual(index.labelValues, [
      { name: "i", value: "0", series: 1 },
      { name: "i", value: "1", series: 1 },
      { name: "i", value: "10", series: 1 },
    ]);
  });
});
