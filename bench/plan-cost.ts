/**
 * What planning a batch costs the raw and rollup projections, without a log or a store:
 * batches of records exactly as ingest writes them (bodies of 10k series × 1 point over
 * `--series` series, one partition), planned `--runs` times each; CPU per million
 * samples, median of the runs. `--repeats P` writes P % of each round's samples again
 * (another value, later in the same batch), the sample policy's slow path.
 *
 * `--peer DIR` plans the same batches, interleaved, with the projections of another
 * checkout (e.g. a worktree of main), the peer the figures are a ratio against.
 *
 * `deno run -A bench/plan-cost.ts [--series 100000] [--rounds 10] [--runs 5] [--repeats 1] [--peer DIR]`
 */
import process from "node:process";
import { type LogRecord, type RecordBatch, recordBatch } from "../domain/ports/command-log.ts";
import type { Projection } from "../projections/projection.ts";
import { rawProjection } from "../projections/raw.ts";
import { rollupProjection } from "../projections/rollup.ts";
import { argValue } from "./proc.ts";
import { recordFor, type RecordShape, recordTemplates } from "./sample-records.ts";

const args = Deno.args;
const SERIES = Number(argValue(args, "--series") ?? 100_000);
const ROUNDS = Number(argValue(args, "--rounds") ?? 10);
const RUNS = Number(argValue(args, "--runs") ?? 5);
const REPEATS = Number(argValue(args, "--repeats") ?? 0);
const PEER = argValue(args, "--peer");

const shape: RecordShape = {
  tenant: "bench",
  series: SERIES,
  seriesPerBody: 10_000,
  pointsPerLine: 1,
  partitions: 1,
  stepMs: 15_000,
};

/** One batch per round: every body's record, then the repeats (values + 1) of that round. */
function batches(): RecordBatch[] {
  const templates = recordTemplates(shape);
  const base = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const out: RecordBatch[] = [];
  let offset = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const records: LogRecord[] = [];
    const add = (value: Uint8Array) =>
      records.push({
        topic: "metrics.samples",
        partition: 0,
        key: "bench",
        offset: offset++,
        timestamp: base,
        value,
      });
    const bodies = templates.map((group) => recordFor(shape, group[0], round, base).value);
    for (const value of bodies) add(value);
    const every = REPEATS > 0 ? Math.round(100 / REPEATS) : 0;
    for (let b = 0; every > 0 && b < bodies.length; b += every) {
      const copy = bodies[b].slice();
      const n = shape.seriesPerBody;
      const values = new Float64Array(copy.buffer, copy.byteLength - 8 * n, n);
      for (let i = 0; i < n; i++) values[i] += 1;
      add(copy);
    }
    out.push(recordBatch("metrics.samples", 0, records));
  }
  return out;
}

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

type Factory = () => Projection<unknown>;

async function factories(dir: string | undefined): Promise<Record<string, Factory>> {
  if (dir === undefined) {
    return { raw: rawProjection as Factory, rollup: rollupProjection as unknown as Factory };
  }
  const raw = await import(`file://${dir}/projections/raw.ts`);
  const rollup = await import(`file://${dir}/projections/rollup.ts`);
  return { raw: raw.rawProjection, rollup: rollup.rollupProjection };
}

async function main(): Promise<void> {
  const planned = batches();
  const samples = planned.reduce((n, b) => n + b.records.length * shape.seriesPerBody, 0);
  const variants = [{ name: "this checkout", made: await factories(undefined) }];
  if (PEER) variants.push({ name: `peer ${PEER}`, made: await factories(PEER) });
  console.log(
    `${ROUNDS} batches, ${samples} samples (${REPEATS} % written twice), load average ${
      Deno.loadavg()[0].toFixed(1)
    }`,
  );
  for (const kind of ["raw", "rollup"]) {
    const cpu = variants.map(() => [] as number[]);
    for (let run = 0; run < RUNS; run++) {
      for (const [v, variant] of variants.entries()) {
        const projection = variant.made[kind]();
        let state = projection.initialState();
        const started = cpuMs();
        for (const batch of planned) state = projection.plan(batch, state, batch.records[0].timestamp).state;
        cpu[v].push(cpuMs() - started);
      }
    }
    for (const [v, variant] of variants.entries()) {
      const perMillion = median(cpu[v]) / (samples / 1e6);
      console.log(`${kind} (${variant.name}): ${perMillion.toFixed(0)} ms CPU per million samples planned`);
    }
    if (variants.length > 1) {
      console.log(`  ratio: ${(median(cpu[0]) / median(cpu[1])).toFixed(2)}x the peer`);
    }
  }
}

await main();
