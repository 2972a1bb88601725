/**
 * Where a dashboard query's time goes, statement by statement, without HTTP: the data
 * of `deno task bench query` (`--series` series of `bench_cpu` every 15 s for 65 min,
 * as many `bench_hourly` series hourly for 30 days with their 1m and 1h rollups) is
 * generated inside an in-process chDB with `INSERT … SELECT … FROM numbers()`, then
 * each query runs `--runs` times through the same functions the API calls, and the
 * process CPU (chDB runs in this process) is reported per query and per statement.
 *
 * Raw reads use FINAL (one row per series and timestamp, the last written); each query
 * also runs without it, interleaved, as the peer that shows what FINAL costs, and with
 * `--repeats P` again after P % of the raw samples were written a second time. With
 * `--peer reads` the peer is instead each query with ClickHouse's default thresholds for
 * reading a part on several threads, against Lookout's (`QUERY_SETTINGS`).
 *
 * The 1h tier's hours closed by a watermark 5 minutes behind now are packed, as the
 * compactor packs them.
 *
 * `deno run -A bench/query-profile.ts [--series 10000] [--runs 5] [--repeats 1] [--keep DIR] [--case TEXT] [--peer reads]`
 * (`--keep` reuses a data directory left by an earlier run with the same `--series`;
 * `--case` runs only the queries whose name holds TEXT).
 */
import process from "node:process";
import { join } from "node:path";
import { openClickHouseStore } from "../adapters/clickhouse/clickhouse-store.ts";
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import { clickHouseSource } from "../read-models/promql/selector-sql.ts";
import { rangeQuery } from "../read-models/promql/run-query.ts";
import { runSampleQuery, type SampleQuery } from "../read-models/sample-query.ts";
import { ensureSchema } from "../read-models/schema.ts";
import { MARK_SQL, PACK_SQL } from "../read-models/rollup-days.ts";
import { SeriesIndex } from "../read-models/series-index.ts";
import { loadSeriesCatalog } from "../read-models/series-table-catalog.ts";
import type { SeriesCatalog } from "../domain/ports/series-catalog.ts";
import { argValue, workDir } from "./proc.ts";

const args = Deno.args;
const SERIES = Number(argValue(args, "--series") ?? 10_000);
const RUNS = Number(argValue(args, "--runs") ?? 5);
/** Percent of bench_cpu's samples written a second time after the first measurement; 0 skips it. */
const REPEATS = Number(argValue(args, "--repeats") ?? 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RETENTION = { rawDays: 32, rollup1mDays: 90, rollup1hDays: 730 };

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function load(store: AnalyticsStore, now: number): Promise<void> {
  const rawStart = now - 65 * 60_000;
  const day = `toDate(fromUnixTimestamp64Milli(toInt64(${now - HOUR})), 'UTC')`;
  const labels = (s: string) =>
    `map('region', concat('r', toString(${s} % 10)), 'host', concat('h', toString(${s})))`;
  await store.command(
    `INSERT INTO series SELECT 'bench', 'bench_cpu', number + 1, ${
      labels("number")
    }, ${day} FROM numbers(${SERIES})`,
  );
  await store.command(
    `INSERT INTO samples (tenant, series_id, ts, value) SELECT 'bench', intDiv(number, 260) + 1,
    fromUnixTimestamp64Milli(toInt64(${rawStart}) + (number % 260) * 15000),
    toFloat64((intDiv(number, 260) * 7 + intDiv(toInt64(${rawStart}) + (number % 260) * 15000, 15000)) % 100)
    FROM numbers(${SERIES * 260})`,
  );
  const hourly = Math.floor((now - 30 * DAY) / HOUR) * HOUR;
  const id = `100001 + intDiv(number, 720)`;
  const ts = `toInt64(${hourly}) + (number % 720) * 3600000`;
  const value = `toFloat64((intDiv(number, 720) * 7 + (number % 720)) % 100)`;
  await store.command(`INSERT INTO series SELECT 'bench', 'bench_hourly', 100001 + intDiv(number, 31),
    ${
    labels("intDiv(number, 31)")
  }, toDate(toDateTime(intDiv(${hourly}, 1000) + (number % 31) * 86400, 'UTC'))
    FROM numbers(${SERIES * 31})`);
  await store.command(
    `INSERT INTO samples (tenant, series_id, ts, value) SELECT 'bench', ${id}, fromUnixTimestamp64Milli(${ts}), ${value} FROM numbers(${
      SERIES * 720
    })`,
  );
  for (const [table, seconds] of [["rollup_1h", 3600], ["rollup_1m", 60]] as const) {
    await store.command(`INSERT INTO ${table} SELECT 'bench', ${id} AS id,
      toDateTime(intDiv(${ts}, ${seconds * 1000}) * ${seconds}) AS b, 1, ${value} AS v, v, v,
      argMaxState(v, (fromUnixTimestamp64Milli(${ts}), v)), ([toInt32(1)], [toUInt64(1)])
      FROM numbers(${SERIES * 720}) GROUP BY id, b, v`);
  }
  for (const table of ["samples", "series", "rollup_1h", "rollup_1m"]) {
    await store.command(`OPTIMIZE TABLE ${table} FINAL`);
  }
}

/** Packs the 1h tier's closed hours, as the compactor does once the watermark has passed them. */
async function pack(store: AnalyticsStore, now: number): Promise<void> {
  const [packed] = await store.query<{ n: string }>(
    "SELECT count() AS n FROM rollup_1h_by_day WHERE tenant = 'bench'",
  );
  if (Number(packed.n) > 0) return;
  const through = Math.floor((now - 300_000) / HOUR) * HOUR;
  const params = { tenant: "bench", from: Math.floor(now / DAY) * DAY - 31 * DAY, to: through, through };
  await store.command(PACK_SQL, params);
  await store.command("OPTIMIZE TABLE rollup_1h_by_day FINAL");
  await store.command(MARK_SQL, params);
}

/** The store with its `query` replaced by `query`, which may call the store's own. */
function withQuery(store: AnalyticsStore, query: AnalyticsStore["query"]): AnalyticsStore {
  const wrapped: AnalyticsStore = Object.create(store);
  wrapped.query = query;
  return wrapped;
}

/** The store with the CPU of each query statement recorded under its first words. */
function metered(store: AnalyticsStore, statements: Map<string, number[]>): AnalyticsStore {
  return withQuery(store, async <T>(...[sql, params, settings]: Parameters<AnalyticsStore["query"]>) => {
    const started = cpuMs();
    const rows = await store.query<T>(sql, params, settings);
    const name = sql.replace(/\s+/g, " ").slice(0, 70);
    statements.set(name, [...(statements.get(name) ?? []), cpuMs() - started]);
    return rows;
  });
}

/**
 * The store with FINAL taken out of raw reads: the peer that shows what reading one row
 * per series and timestamp costs (its answers count unmerged repeats twice).
 */
function withoutFinal(store: AnalyticsStore): AnalyticsStore {
  return withQuery(
    store,
    (sql, params, settings) => store.query(sql.replace(/\bFINAL\b/g, ""), params, settings),
  );
}

/**
 * The store with ClickHouse's default thresholds for reading a part on several threads
 * (163,840 rows, 240 MiB) in place of `QUERY_SETTINGS`' own.
 */
function defaultReads(store: AnalyticsStore): AnalyticsStore {
  return withQuery(store, (sql, params, settings) =>
    store.query(sql, params, {
      ...settings,
      merge_tree_min_rows_for_concurrent_read: 163_840,
      merge_tree_min_bytes_for_concurrent_read: 251_658_240,
    }));
}

const PEER = argValue(args, "--peer") === "reads"
  ? { label: " (peer: default thresholds for parallel reads)", wrap: defaultReads, ratio: "ours / default" }
  : { label: " (peer: no FINAL)", wrap: withoutFinal, ratio: "FINAL / no FINAL" };

/** Each case and its peer, runs interleaved so load changes hit both alike. */
async function measure(
  store: AnalyticsStore,
  cases: readonly [string, (s: AnalyticsStore) => Promise<unknown>][],
): Promise<void> {
  for (const [name, run] of cases) {
    const statements = new Map<string, number[]>();
    const variants = [
      { label: "", store: metered(store, statements), cpu: [] as number[], wall: [] as number[] },
      { label: PEER.label, store: PEER.wrap(store), cpu: [] as number[], wall: [] as number[] },
    ];
    for (const v of variants) await run(v.store);
    for (let i = 0; i < RUNS; i++) {
      for (const v of variants) {
        const [c, w] = [cpuMs(), performance.now()];
        await run(v.store);
        v.cpu.push(cpuMs() - c);
        v.wall.push(performance.now() - w);
      }
    }
    for (const v of variants) {
      console.log(
        `${name}${v.label}: CPU ${median(v.cpu).toFixed(1)} ms per query (median), wall ${
          median(v.wall).toFixed(0)
        } ms`,
      );
    }
    console.log(
      `  ratio ${PEER.ratio}: CPU ${(median(variants[0].cpu) / median(variants[1].cpu)).toFixed(2)}x, wall ${
        (median(variants[0].wall) / median(variants[1].wall)).toFixed(2)
      }x`,
    );
    for (const [sql, values] of statements) console.log(`  ${median(values).toFixed(1)} ms CPU  ${sql}`);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const keep = argValue(args, "--keep");
  const dir = keep ?? await workDir("query-profile-");
  const fresh = !(await Deno.stat(join(dir, "now")).catch(() => undefined));
  const store = openClickHouseStore({ path: join(dir, "chdb") });
  await ensureSchema(store, RETENTION);
  const now = fresh
    ? Math.floor(Date.now() / 60_000) * 60_000
    : Number(await Deno.readTextFile(join(dir, "now")));
  if (fresh) {
    const started = performance.now();
    await load(store, now);
    await Deno.writeTextFile(join(dir, "now"), String(now));
    console.log(`loaded ${SERIES} series in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  await pack(store, now);
  const limits = { maxSeries: 1_000_000, maxSamples: 1e10, maxExecutionSeconds: 120, maxPoints: 11_000 };
  // Each case runs with selectors resolved by the series table and by the in-process index.
  const index = new SeriesIndex();
  await loadSeriesCatalog(store, index);
  type Run = (s: AnalyticsStore, catalog?: SeriesCatalog) => Promise<unknown>;
  const promql = (query: string, span: number, step: number): Run => (s, catalog) =>
    rangeQuery(
      clickHouseSource(s, "bench", limits, catalog),
      query,
      { start: now - span, end: now, step },
      limits,
    );
  const sampleQuery = (q: SampleQuery): Run => (s, catalog) =>
    runSampleQuery(s, "bench", q, { now, retention: RETENTION, allowedLatenessMs: 300_000 }, {
      maxPointsPerSeries: 11_000,
      maxSeries: 1_000_000,
      maxExecutionSeconds: 120,
    }, { catalog });
  const cases: [string, Run][] = [
    ['bench_cpu{host="h42"}, 1 h, step 60 s', promql('bench_cpu{host="h42"}', HOUR, 60_000)],
    ["avg by (region) (bench_cpu), 1 h, step 60 s", promql("avg by (region) (bench_cpu)", HOUR, 60_000)],
    [
      "/v1/query avg by region, bench_hourly, 30 d, step 1 h",
      sampleQuery({
        metric: "bench_hourly",
        filters: {},
        agg: "avg",
        by: ["region"],
        from: now - 30 * DAY,
        to: now,
        step: HOUR,
        resolution: "auto",
      }),
    ],
    // The end-to-end benchmark's "queryable" check: one count over every series.
    [
      "/v1/query count by () bench_cpu, raw, 1 h",
      sampleQuery({
        metric: "bench_cpu",
        filters: {},
        agg: "count",
        by: [],
        from: now - HOUR,
        to: now,
        step: HOUR,
        resolution: "raw",
      }),
    ],
  ];
  console.log(`load average ${Deno.loadavg()[0].toFixed(1)}`);
  const only = argValue(args, "--case");
  const variants = cases.filter(([n]) => only === undefined || n.includes(only)).flatMap(([n, r]) =>
    [[`${n} [series table]`, r], [`${n} [series index]`, (s: AnalyticsStore) => r(s, index)]] as [
      string,
      Run,
    ][]
  );
  await measure(store, variants);
  if (REPEATS > 0) {
    // Repeats of a share of bench_cpu's samples with a greater version, in parts of their
    // own: what FINAL has to collapse before the background merges catch up.
    await store.command(`INSERT INTO samples (tenant, series_id, ts, value, version)
      SELECT tenant, series_id, ts, value + 1, 1 FROM samples
      WHERE tenant = 'bench' AND series_id <= ${SERIES} AND cityHash64(series_id, ts) % 1000 < ${
      REPEATS * 10
    }`);
    console.log(`with ${REPEATS} % of bench_cpu's samples written again, not merged yet:`);
    await measure(store, variants.slice(0, 4));
  }
  await store.close();
  if (keep === undefined) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

await main();
Deno.exit(0);
