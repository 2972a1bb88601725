/**
 * Differential test: the same generated metrics loaded into VictoriaMetrics and into
 * the real Lookout program, and a suite of PromQL queries whose range and instant
 * answers must match within floating-point tolerance.
 *
 * Intentional differences, by MetricsQL's design (listed in README's PromQL section):
 * - `rate`, `increase` and `delta` do not extrapolate in MetricsQL and take the sample
 *   before the window as their base, so they are compared on counters sampled on an
 *   exact grid (`steady_total`), where both definitions give the same number, and the
 *   range ends before the data does;
 * - `changes` counts from the sample before the window: `changes_prometheus` is sent;
 * - `*_over_time` and `clamp*` keep the metric name in MetricsQL: `label_del` drops it;
 * - MetricsQL drops NaN points, which PromQL keeps;
 * - VictoriaMetrics runs with a staleness window of exactly 5 minutes, PromQL's lookback.
 *
 * Needs `victoria-metrics` (scripts/install-victoria-metrics.sh): fails in CI without
 * it, skipped with a message elsewhere.
 */
import assert from "node:assert/strict";
import { DEFAULT_TENANTS, withProgram } from "../support/program.ts";
import { promqlWorkload } from "../support/promql-workload.ts";
import { startVictoriaMetrics, victoriaMetricsAvailable } from "../support/victoria-metrics.ts";
import { PROMQL_CASES } from "./promql-cases.ts";

const available = victoriaMetricsAvailable();
if (!available && Deno.env.get("CI") === "true") {
  throw new Error(
    "victoria-metrics is required in CI; .ci/run installs it with scripts/install-victoria-metrics.sh",
  );
}
if (!available) {
  console.warn("promql differential: skipped; run scripts/install-victoria-metrics.sh to enable");
}

const SEED = Number(Deno.env.get("PROMQL_SEED") ?? 20261201);
const STEP_S = 60;

type Matrix = { metric: Record<string, string>; values: [number, string][] }[];
type Answer = {
  status: string;
  data:
    | { resultType: "matrix"; result: Matrix }
    | { resultType: "vector"; result: { metric: Record<string, string>; value: [number, string] }[] }
    | { resultType: "scalar"; result: [number, string] };
};

/** Any answer as a matrix, so instant and range answers compare the same way. */
function asMatrix(answer: Answer): Matrix {
  const data = answer.data;
  if (data.resultType === "matrix") return data.result;
  if (data.resultType === "scalar") return [{ metric: {}, values: [data.result] }];
  return data.result.map((s) => ({ metric: s.metric, values: [s.value] }));
}

function normalise(result: Matrix): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const s of result) {
    const key = JSON.stringify(Object.entries(s.metric).sort(([a], [b]) => (a < b ? -1 : 1)));
    out.set(key, s.values.map(([t, v]) => [t, Number(v)]));
  }
  return out;
}

function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** Differences between two answers, empty when they agree. */
function compare(lookout: Matrix, vm: Matrix): string[] {
  const l = normalise(lookout);
  const v = normalise(vm);
  const problems: string[] = [];
  for (const key of new Set([...l.keys(), ...v.keys()])) {
    const a = l.get(key);
    const b = v.get(key);
    if (!a || !b) {
      problems.push(`${key} only in ${a ? "Lookout" : "VictoriaMetrics"} (${(a ?? b)!.length} points)`);
      continue;
    }
    const bt = new Map(b);
    const at = new Map(a);
    for (const [t, x] of a) {
      // MetricsQL removes NaN points from answers; PromQL keeps them (0/0 is NaN).
      if (!bt.has(t)) {
        if (!Number.isNaN(x)) problems.push(`${key} @${t}: Lookout ${x}, VictoriaMetrics none`);
      } else if (!close(x, bt.get(t)!)) {
        problems.push(`${key} @${t}: Lookout ${x}, VictoriaMetrics ${bt.get(t)}`);
      }
    }
    for (const [t, y] of b) if (!at.has(t)) problems.push(`${key} @${t}: Lookout none, VictoriaMetrics ${y}`);
  }
  return problems;
}

Deno.test({
  name: `promql differential: ${PROMQL_CASES.length} queries answer as VictoriaMetrics does on the same data`,
  ignore: !available,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const end = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 600_000;
    const start = end - 2 * 3_600_000;
    const data = promqlWorkload(SEED, start, end);
    const vm = await startVictoriaMetrics();
    try {
      await vm.importSeries(data);
      await withProgram({}, async (program) => {
        const key = DEFAULT_TENANTS.acme;
        const lines = data.map((s) => {
          const { __name__: metric, ...labels } = s.metric;
          return JSON.stringify({ metric, labels, timestamps: s.timestamps, values: s.values });
        });
        const res = await program.post("/v1/samples", lines.join("\n"), {
          key,
          contentType: "application/x-ndjson",
        });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        await program.waitForProjected();
        const qStart = (start + 20 * 60_000) / 1000;
        // Ends a minute before the data does: at the very end, Prometheus extrapolates
        // increase() and delta() to the window's edge and MetricsQL does not.
        const qEnd = end / 1000 - 60;
        const failures: string[] = [];
        let points = 0;
        const instant = String(qEnd - 7 * 60 - 13);
        for (const c of PROMQL_CASES) {
          const requests: { path: string; params: Record<string, string> }[] = [
            {
              path: "/api/v1/query_range",
              params: { start: String(qStart), end: String(qEnd), step: String(STEP_S) },
            },
            { path: "/api/v1/query", params: { time: instant } },
          ];
          for (const { path, params } of requests) {
            const mine = await program.get(
              `${path}?${new URLSearchParams({ ...params, query: c.query })}`,
              key,
            );
            const theirs = await vm.get(path, { ...params, query: c.vm ?? c.query }) as Answer;
            if (mine.status !== 200 || theirs.status !== "success") {
              failures.push(
                `${path} ${c.query}: Lookout ${mine.status} ${JSON.stringify(mine.body).slice(0, 200)}, VM ${
                  JSON.stringify(theirs).slice(0, 200)
                }`,
              );
              continue;
            }
            const result = asMatrix(mine.body as Answer);
            points += result.reduce((n, s) => n + s.values.length, 0);
            if (result.length === 0) {
              failures.push(`${path} ${c.query}: empty answer, the case tests nothing`);
            }
            const problems = compare(result, asMatrix(theirs));
            if (problems.length > 0) {
              failures.push(
                `${path} ${c.query}: ${problems.length} differences, first: ${
                  problems.slice(0, 3).join("; ")
                }`,
              );
            }
          }
        }
        console.log(
          `promql differential: ${PROMQL_CASES.length} queries, ${points} points compared, seed ${SEED}`,
        );
        assert.deepEqual(failures, []);
      });
    } finally {
      await vm.stop();
    }
  },
});
