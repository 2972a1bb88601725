/**
 * Stage `alerts` (evaluation throughput): the streaming evaluation with 10,000 rules
 * over records exactly as ingest writes them (bodies of 10k series × 1 point over 100k
 * series, 8 partitions), decoded and evaluated in-process as the evaluator does
 * (`evaluateBatch`), without the log or the incident store. Rules: 9,992 per-host rules
 * (`{host="host-N"}`, one series each, grouped by host) and 8 per-datacenter rules
 * (`{dc="dc-K"}`, by host), so every sample feeds at least one group and one in ten
 * feeds two. Thresholds sit above the workload's values except for 1% of the per-host
 * rules, which fire, so transitions are part of the work.
 *
 * `deno run -A bench/stage-alerts.ts [--quick] [--out file]`; the figure is samples per
 * CPU second of this process.
 */
import { compileRule, type RuleSpec } from "../domain/alerting/rule.ts";
import { StreamingEvaluation } from "../domain/alerting/streaming-evaluation.ts";
import type { RecordBatch } from "../domain/ports/command-log.ts";
import type { SampleBatch } from "../domain/sample-batch.ts";
import { encodeSampleRecord } from "../domain/sample-record.ts";
import { partitionOf, type SeriesDef, seriesId } from "../domain/series.ts";
import { evaluateBatch } from "../projections/alerts.ts";
import { fmt, Meter, peakRssMiB, writeResult } from "./proc.ts";
import { METRIC, sampleValue, seriesLabels } from "./workload.ts";

const args = Deno.args;
const quick = args.includes("--quick");
const SERIES = 100_000;
const SERIES_PER_BODY = 10_000;
const PARTITIONS = 8;
const ROUNDS = quick ? 10 : 30;
const RULES = 10_000;
const TENANT = "bench";
const STEP_MS = 10_000;

function spec(filters: Record<string, string>, critical: number): RuleSpec {
  return {
    name: "bench",
    metric: METRIC,
    filters,
    agg: "avg",
    window: "1m",
    by: ["host"],
    condition: { op: ">", critical, criticalRecovery: critical - 1 },
    for: "30s",
    keepFiringFor: "0s",
    evaluationDelay: "0s",
    severity: "page",
    labels: {},
    annotations: {},
    channels: [],
    mode: "streaming",
  };
}

const rules = [
  ...Array.from({ length: RULES - 8 }, (_, i) => {
    const host = `host-${String(i * 10).padStart(6, "0")}`;
    return compileRule(`h${i}`, TENANT, spec({ host }, i % 100 === 0 ? 0 : 10_000_000));
  }),
  ...Array.from({ length: 8 }, (_, k) => compileRule(`dc${k}`, TENANT, spec({ dc: `dc-${k}` }, 10_000_000))),
];

/** Per body and partition, the records of one round, as ingest would append them. */
function roundRecords(round: number, baseMs: number): RecordBatch[] {
  const batches: RecordBatch[] = [];
  for (let first = 0; first < SERIES; first += SERIES_PER_BODY) {
    const byPartition = new Map<number, { defs: SeriesDef[]; values: number[] }>();
    for (let s = first; s < first + SERIES_PER_BODY; s++) {
      const labels = Object.fromEntries(seriesLabels(s));
      const def: SeriesDef = { id: seriesId(TENANT, METRIC, labels), metric: METRIC, labels };
      const p = partitionOf(def.id, PARTITIONS);
      let part = byPartition.get(p);
      if (part === undefined) byPartition.set(p, part = { defs: [], values: [] });
      part.defs.push(def);
      part.values.push(sampleValue(s, round));
    }
    for (const [partition, { defs, values }] of byPartition) {
      const n = defs.length;
      const batch: SampleBatch = {
        tenant: TENANT,
        series: defs,
        seriesIndex: Uint32Array.from({ length: n }, (_, i) => i),
        timestamps: new Float64Array(n).fill(baseMs + round * STEP_MS),
        values: Float64Array.from(values),
        length: n,
      };
      const record = {
        topic: "metrics.samples",
        partition,
        key: TENANT,
        value: encodeSampleRecord(batch),
        offset: 0,
        timestamp: 0,
      };
      batches.push({
        topic: record.topic,
        partition,
        records: [record],
        firstOffset: 0,
        lastOffset: 0,
        nextOffset: 1,
      });
    }
  }
  return batches;
}

const baseMs = 1_700_000_000_000;
const prepared = Array.from({ length: ROUNDS }, (_, round) => roundRecords(round, baseMs));
const evaluation = new StreamingEvaluation(rules);
let transitions = 0;
/** Runs the rounds and reads this process's CPU and wall time around them. */
function measure(rounds: RecordBatch[][]) {
  const meter = new Meter();
  for (const round of rounds) {
    for (const batch of round) transitions += evaluateBatch(evaluation, batch).length;
  }
  const { wallSeconds, cpuSeconds } = meter.read();
  const samples = SERIES * rounds.length;
  return { samples, wallSeconds, cpuSeconds, samplesPerCpuSecond: samples / cpuSeconds };
}
// The first round meets every series and creates its groups; the rest is the steady state.
const firstSight = measure(prepared.slice(0, 1));
const steady = measure(prepared.slice(1));
const result = {
  rules: RULES,
  groups: evaluation.groupCount,
  transitions,
  firstSight,
  steady,
  peakRssMiB: peakRssMiB("self"),
};
const line = (name: string, m: typeof steady) =>
  `${name}: ${fmt.rate(m.samples)} samples, ${fmt.rate(m.samplesPerCpuSecond)} samples/CPU-s (${
    fmt.seconds(m.cpuSeconds)
  } CPU-s, ${fmt.seconds(m.wallSeconds)} s wall)`;
console.log(
  `alerts: ${RULES} rules, ${evaluation.groupCount} groups, ${transitions} transitions, peak RSS ${result.peakRssMiB} MiB`,
);
console.log(line("  first sight of 100k series", firstSight));
console.log(line("  steady state", steady));
await writeResult(args, result);
