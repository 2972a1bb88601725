/**
 * End to end with a real Prometheus remote-writing its own metrics to the running
 * program, once with Debian's `prometheus` (2.42, remote write 1.0) and once with
 * Prometheus 3 (`scripts/install-prometheus-3.sh`, Debian has none) configured with
 * `protobuf_message: io.prometheus.write.v2.Request` (remote write 2.0): every sample Prometheus holds of every one of its
 * series over a 20 s window must come back through `POST /v1/query` at raw
 * resolution, with the same labels, timestamps and values (NaN included).
 *
 * Prometheus scrapes itself every second, so a 250 ms query step puts each sample in a
 * bucket of its own and the comparison is exact. It also sends an `X-Scope-OrgID`
 * naming the other tenant: the tenant comes from the key, so that tenant sees nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findBinary, findFile } from "../support/installed-binary.ts";
import { metricValues } from "../support/prometheus-text.ts";
import { type Program, withProgram } from "../support/program.ts";
import { waitFor } from "../support/wait-for.ts";

const prometheus = findBinary("prometheus", "apt-get install -y prometheus");
const prometheus3 = findFile(
  Deno.env.get("LOOKOUT_TEST_PROMETHEUS3") ?? "/usr/local/lib/lookout/prometheus-3/prometheus",
  "bash scripts/install-prometheus-3.sh",
  // A build from source: minutes with warm Go caches, far longer on a fresh machine.
  { requiredInCi: false },
);
const TENANTS = { acme: "acme-prom-key-4e1a", globex: "globex-prom-key-93b2" };
const STEP = 250;
const V2_MESSAGE = "io.prometheus.write.v2.Request";
const WINDOW_S = 20;

type Samples = Map<string, Map<number, number>>;

function labelsKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function startPrometheus(lookout: Program, key: string, binary: string, protobufMessage?: string) {
  const dir = await Deno.makeTempDir({ prefix: "lookout-prometheus-" });
  const port = freePort();
  const config = `
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:${port}"]
remote_write:
  - url: ${lookout.url}/api/v1/write
    authorization:
      credentials: ${key}
    headers:
      X-Scope-OrgID: globex
${protobufMessage ? `    protobuf_message: ${protobufMessage}\n` : ""}    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
`;
  await Deno.writeTextFile(join(dir, "prometheus.yml"), config);
  const child = new Deno.Command(binary, {
    args: [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const pump = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log.push(chunk);
  })();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    log: () => log.join(""),
    /** Samples of a range vector `selector[window]` evaluated at `atMs`. */
    async rangeVector(selector: string, atMs: number): Promise<Samples> {
      const q = new URLSearchParams({ query: `${selector}[${WINDOW_S}s]`, time: String(atMs / 1000) });
      const res = await fetch(`${url}/api/v1/query?${q}`, { signal: AbortSignal.timeout(10_000) });
      const body = await res.json();
      assert.equal(body.status, "success", JSON.stringify(body));
      const out: Samples = new Map();
      for (const r of body.data.result as { metric: Record<string, string>; values: [number, string][] }[]) {
        out.set(labelsKey(r.metric), new Map(r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)])));
      }
      return out;
    },
    async scalar(query: string): Promise<number> {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`);
      const body = await res.json();
      return body.data.result.length === 0 ? 0 : Number(body.data.result[0].value[1]);
    },
    async stop(): Promise<void> {
      child.kill("SIGTERM");
      await child.status;
      await pump;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Lookout's raw points of a metric over `[from, to)`, bucketed by `STEP`. */
async function lookoutSamples(program: Program, key: string, metric: string, from: number, to: number) {
  const reply = await program.query(key, { metric, agg: "last", from, to, step: STEP, resolution: "raw" });
  const out: Samples = new Map();
  for (const s of reply.series) {
    out.set(labelsKey(s.labels), new Map(s.points.map(([t, v]) => [t, Number(v)])));
  }
  return out;
}

/** Prometheus' samples split by metric name. */
function byMetric(samples: Samples): Map<string, Samples> {
  const out = new Map<string, Samples>();
  for (const [labels, points] of samples) {
    const name = (Object.fromEntries(JSON.parse(labels)) as Record<string, string>).__name__;
    if (!out.has(name)) out.set(name, new Map());
    out.get(name)!.set(labels, points);
  }
  return out;
}

/**
 * What is missing or different in Lookout, as lines; empty when the two agree. NaN
 * samples are stored but ignored by every aggregate (README), so they have no point;
 * the series that only have NaN samples are returned apart, to be found in the index.
 */
function differences(expected: Samples, got: Samples): { diff: string[]; nanOnly: string[] } {
  const diff: string[] = [];
  const nanOnly: string[] = [];
  for (const [labels, all] of expected) {
    const samples = [...all].filter(([, v]) => !Number.isNaN(v));
    const points = got.get(labels);
    if (samples.length === 0) {
      if (points) diff.push(`${labels} has only NaN samples but got points`);
      nanOnly.push(labels);
      continue;
    }
    if (!points) {
      diff.push(`missing series ${labels}`);
      continue;
    }
    const buckets = [...all.keys()].map((t) => Math.floor(t / STEP) * STEP);
    for (const [t, v] of samples) {
      const bucket = Math.floor(t / STEP) * STEP;
      if (!Object.is(points.get(bucket), v)) {
        diff.push(`${labels} @${t}: expected ${v}, got ${points.get(bucket)}`);
      }
    }
    const first = Math.min(...buckets);
    const last = Math.max(...buckets);
    for (const t of points.keys()) {
      if (t >= first && t <= last && !buckets.includes(t)) diff.push(`${labels}: extra point @${t}`);
    }
  }
  for (const labels of got.keys()) if (!expected.has(labels)) diff.push(`unexpected series ${labels}`);
  return { diff, nanOnly };
}

/** The label sets of a metric in Lookout's series index, keyed as `labelsKey` keys them. */
async function indexedSeries(program: Program, key: string, metric: string): Promise<Set<string>> {
  const res = await program.get(`/v1/series?metric=${metric}`, key);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const { series } = res.body as { series: { labels: Record<string, string> }[] };
  return new Set(series.map((s) => labelsKey({ __name__: metric, ...s.labels })));
}

const SENDERS = [
  { name: "Prometheus 2.42, remote write 1.0", binary: prometheus, version: "1.0", message: undefined },
  { name: "Prometheus 3, remote write 2.0", binary: prometheus3, version: "2.0", message: V2_MESSAGE },
];

for (const sender of SENDERS) {
  Deno.test({
    name: `${sender.name}: its own metrics remote-written; the query API returns every sample exactly`,
    ignore: sender.binary.skip,
    fn: async () => {
      await withProgram({ tenants: TENANTS }, async (program) => {
        const prom = await startPrometheus(program, TENANTS.acme, sender.binary.require(), sender.message);
        try {
          // Enough scrapes for a full window, plus time for the last ones to be sent.
          await waitFor(async () => (await prom.scalar(`count_over_time(up[${WINDOW_S}s])`)) >= 8, 60_000, {
            what: "Prometheus to scrape itself 8 times",
          });
          const at = Date.now() - 5000;
          const from = Math.floor((at - WINDOW_S * 1000) / STEP) * STEP;
          const to = at + STEP;
          const expected = byMetric(await prom.rangeVector('{job="prometheus"}', at));
          assert.ok(expected.size > 50, `Prometheus has only ${expected.size} metrics of its own`);
          // Prometheus keeps sending, so the projection lag need not reach 0: each
          // comparison is retried until the window's samples are there.
          const started = performance.now();
          let compared = 0;
          let series = 0;
          let nanSeries = 0;
          // Four metrics at a time: each query is a round trip to the engine.
          const queue = [...expected];
          const compare = async () => {
            for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
              const [metric, samples] = next;
              let nanOnly: string[] = [];
              // A non-empty answer would end waitFor at once: the differences are kept aside
              // and the predicate says only whether there are none yet.
              let diff = "";
              const same = await waitFor(
                async () => {
                  const got = await lookoutSamples(program, TENANTS.acme, metric, from, to);
                  const found = differences(samples, got);
                  nanOnly = found.nanOnly;
                  diff = found.diff.slice(0, 5).join("; ");
                  return found.diff.length === 0;
                },
                60_000,
                { what: `Lookout to hold every sample of ${metric}`, intervalMs: 500 },
              ).catch(() => false);
              assert.equal(same, true, `${metric}: ${diff}`);
              if (nanOnly.length > 0) {
                const indexed = await indexedSeries(program, TENANTS.acme, metric);
                for (const labels of nanOnly) {
                  assert.ok(indexed.has(labels), `NaN-only series ${labels} not indexed`);
                }
              }
              nanSeries += nanOnly.length;
              series += samples.size;
              for (const points of samples.values()) compared += points.size;
            }
          };
          await Promise.all([compare(), compare(), compare(), compare()]);
          console.log(
            `compared ${compared} samples of ${series} series (${expected.size} metrics, ` +
              `${nanSeries} series only NaN) with Prometheus' own in ${
                (performance.now() - started).toFixed(0)
              } ms`,
          );

          assert.equal(await prom.scalar("prometheus_remote_storage_samples_failed_total"), 0, prom.log());
          assert.ok(await prom.scalar("prometheus_remote_storage_samples_total") > 0);
          const globex = await program.query(TENANTS.globex, {
            metric: "up",
            agg: "count",
            from,
            to,
            step: STEP,
            resolution: "raw",
          });
          assert.deepEqual(globex.series, [], "X-Scope-OrgID does not choose the tenant");
          const accepted = metricValues(await program.metrics(), "lookout_samples_accepted_total", {
            tenant: "acme",
          });
          assert.ok(accepted.length === 1 && accepted[0] >= compared, `accepted ${accepted}`);
          const requests = await program.metrics();
          const byVersion = (version: string) =>
            metricValues(requests, "lookout_remote_write_requests_total", { tenant: "acme", version });
          const other = sender.version === "2.0" ? "1.0" : "2.0";
          console.log(
            `remote write requests: ${byVersion(sender.version)} of ${sender.version}, ${
              byVersion(other)
            } of ${other}`,
          );
          assert.ok(byVersion(sender.version)[0] > 0, `no ${sender.version} request`);
          assert.deepEqual(byVersion(other), [], `the sender spoke only ${sender.version}`);
        } catch (error) {
          console.error(`---- prometheus log ----\n${prom.log()}`);
          throw error;
        } finally {
          await prom.stop();
        }
      });
    },
  });
}
