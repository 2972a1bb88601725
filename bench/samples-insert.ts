/**
 * What the raw samples table costs chDB per inserted row, by table layout and insert
 * settings: the same 2M rows (100k series × 20 points, as `stage-projection.ts raw`
 * writes them, in blocks of 10k rows) inserted into each variant in turn, several rounds
 * interleaved, process CPU per variant. The rows come from a Memory table filled once,
 * so generating them is not part of any figure.
 *
 * `deno run -A bench/samples-insert.ts [--rounds 3]`
 */
import { createClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { join } from "node:path";
import { argValue, fmt, Meter, workDir } from "./proc.ts";

type ConnectionOption = NonNullable<Parameters<typeof createClient>[0]>["connection"];

const ROUNDS = Number(argValue(Deno.args, "--rounds") ?? 3);
const ROWS = 2_000_000, SERIES = 100_000, BLOCK = 10_000;

interface Variant {
  readonly name: string;
  readonly ts: string;
  readonly value: string;
  readonly engine: string;
  readonly settings: string;
}

const CURRENT = {
  ts: "CODEC(DoubleDelta, ZSTD(1))",
  value: "CODEC(Gorilla, ZSTD(1))",
  engine: "ReplacingMergeTree(version)",
  settings: "",
};
const variants: Variant[] = [
  { name: "current (DoubleDelta/Gorilla + ZSTD(1), Replacing)", ...CURRENT },
  { name: "optimize_on_insert = 0", ...CURRENT, settings: "SETTINGS optimize_on_insert = 0" },
  {
    name: "DoubleDelta/Gorilla + LZ4",
    ...CURRENT,
    ts: "CODEC(DoubleDelta, LZ4)",
    value: "CODEC(Gorilla, LZ4)",
  },
  { name: "default codecs (LZ4)", ...CURRENT, ts: "", value: "" },
  {
    name: "DoubleDelta/Gorilla + LZ4, optimize_on_insert = 0",
    ...CURRENT,
    ts: "CODEC(DoubleDelta, LZ4)",
    value: "CODEC(Gorilla, LZ4)",
    settings: "SETTINGS optimize_on_insert = 0",
  },
];

const dir = await workDir("samples-insert-");
const connection = createChdbConnection({ path: join(dir, "chdb") }) as unknown as ConnectionOption;
const client = createClient({ connection });
const run = (query: string) => client.command({ query });

await run(`CREATE TABLE src (tenant LowCardinality(String), series_id UInt64, ts DateTime64(3), value Float64,
  version UInt64, block UInt32) ENGINE = Memory`);
await run(`INSERT INTO src SELECT 'bench', cityHash64(number % ${SERIES}),
  toDateTime64(1700000000 + intDiv(number, ${SERIES}) * 10, 3), (number % 1000) / 10 + intDiv(number, ${SERIES}),
  0, intDiv(number, ${BLOCK}) FROM numbers(${ROWS})`);

const results = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, v] of variants.entries()) {
    const table = `samples_${round}_${i}`;
    await run(
      `CREATE TABLE ${table} (tenant LowCardinality(String), series_id UInt64, ts DateTime64(3) ${v.ts},
      value Float64 ${v.value}, version UInt64 DEFAULT 0 CODEC(Delta, ZSTD(1))) ENGINE = ${v.engine}
      PARTITION BY toYYYYMMDD(ts) ORDER BY (tenant, series_id, ts)`,
    );
    const meter = new Meter();
    for (let b = 0; b < ROWS / BLOCK; b++) {
      await run(`INSERT INTO ${table} SELECT tenant, series_id, ts, value, version FROM src WHERE block = ${b}
        ${v.settings}`);
    }
    const { cpuSeconds } = meter.read();
    results.set(v.name, [...results.get(v.name) ?? [], ROWS / cpuSeconds]);
    await run(`DROP TABLE ${table}`);
  }
}
// The scan of one block out of the Memory table, alone, for reference.
const meter = new Meter();
for (let b = 0; b < ROWS / BLOCK; b++) {
  await client.query({ query: `SELECT count() FROM src WHERE block = ${b}` });
}
const scan = ROWS / meter.read().cpuSeconds;
console.log(
  `samples insert, ${fmt.rate(ROWS)} rows in blocks of ${fmt.rate(BLOCK)}, rows per CPU-second by round:`,
);
for (const [name, rates] of results) console.log(`  ${name}: ${rates.map((r) => fmt.rate(r)).join(", ")}`);
console.log(`  reading the blocks alone: ${fmt.rate(scan)}`);
await client.close();
await Deno.remove(dir, { recursive: true });
