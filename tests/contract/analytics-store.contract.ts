/**
 * The analytics-store contract: every `AnalyticsStore` (chDB in-process, a ClickHouse
 * server over HTTP) must pass these cases with the project's own DDL. Each case makes
 * tables of its own names, so a shared engine can run them all.
 *
 * @example
 * analyticsStoreContract("chDB", async () => ({ store: await sharedStore(), cleanup: async () => {} }));
 */
import assert from "node:assert/strict";
import type { AnalyticsStore, ColumnBlock } from "../../domain/ports/analytics-store.ts";
import { schemaStatements } from "../../read-models/schema.ts";
import { uniqueName } from "../support/analytics.ts";

export type AnalyticsStoreFactory = () => Promise<{ store: AnalyticsStore; cleanup: () => Promise<void> }>;

const DEDUP_TABLE = (name: string) =>
  `CREATE TABLE ${name} (k String, n UInt64) ENGINE = MergeTree ORDER BY k
    SETTINGS non_replicated_deduplication_window = 100`;

function block(values: number[]): ColumnBlock {
  return {
    rows: values.length,
    columns: [
      { name: "k", type: "String", data: values.map((v) => `k${v}`) },
      { name: "n", type: "Float64", data: Float64Array.from(values) },
    ],
  };
}

export function analyticsStoreContract(name: string, factory: AnalyticsStoreFactory): void {
  const contractCase = (title: string, body: (store: AnalyticsStore) => Promise<void>) =>
    Deno.test({
      name: `${name}: ${title}`,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const { store, cleanup } = await factory();
        try {
          await body(store);
        } finally {
          await cleanup();
        }
      },
    });

  contractCase(
    "the schema's DDL is accepted, twice (IF NOT EXISTS), and drops the retired tables",
    async (store) => {
      const suffix = uniqueName("");
      const renamed = schemaStatements().map((sql) =>
        sql.replace(/(CREATE TABLE IF NOT EXISTS|DROP TABLE IF EXISTS) (\w+)/, `$1 $2${suffix}`)
      );
      // The packed rows ordered by series and their marks by day, before they went by day and hour.
      await store.command(
        `CREATE TABLE rollup_1h_days${suffix} (tenant LowCardinality(String), series_id UInt64, day Date)
      ENGINE = ReplacingMergeTree ORDER BY (tenant, series_id, day)`,
      );
      await store.command(
        `CREATE TABLE rollup_1h_compacted${suffix} (tenant LowCardinality(String), through Date, packed DateTime64(3))
      ENGINE = ReplacingMergeTree(packed) ORDER BY tenant`,
      );
      // The packed rows with every hour's count as an array, before one count could stand for all.
      await store.command(
        `CREATE TABLE rollup_1h_packed${suffix} (tenant LowCardinality(String), series_id UInt64, day Date, count Array(UInt64))
      ENGINE = ReplacingMergeTree ORDER BY (tenant, day, series_id)`,
      );
      await store.command(
        `CREATE TABLE rollup_1h_packed_through${suffix} (tenant LowCardinality(String), through DateTime)
      ENGINE = ReplacingMergeTree(through) ORDER BY tenant`,
      );
      for (const sql of [...renamed, ...renamed]) await store.command(sql);
      const tables = await store.query<{ name: string }>(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND endsWith(name, {suffix:String}) ORDER BY name",
        { suffix },
      );
      assert.deepEqual(tables.map((t) => t.name.slice(0, -suffix.length)).sort(), [
        "late_samples",
        "projection_progress",
        "rollup_1h",
        "rollup_1h_by_day",
        "rollup_1h_by_day_through",
        "rollup_1m",
        "samples",
        "series",
      ]);
    },
  );

  contractCase("query parameters are bound exactly, quotes and backslashes included", async (store) => {
    const rows = await store.query<{ big: string; s: string }>(
      "SELECT toString({big:UInt64}) AS big, {s:String} AS s",
      { big: "18446744073709551615", s: "it's \\ 'quoted'" },
    );
    assert.deepEqual(rows, [{ big: "18446744073709551615", s: "it's \\ 'quoted'" }]);
  });

  contractCase(
    "a block with the same deduplication token lands once; another token lands again",
    async (store) => {
      const table = uniqueName("contract_dedup");
      await store.command(DEDUP_TABLE(table));
      const insert = (token: string) =>
        store.insertBlock(block([1, 2, 3]), [{
          sql: `INSERT INTO ${table} SELECT k, n FROM {source}`,
          deduplicationToken: token,
        }]);
      await insert(`${table}:a`);
      await insert(`${table}:a`);
      await insert(`${table}:b`);
      const [{ rows, total }] = await store.query<{ rows: string; total: number }>(
        `SELECT count() AS rows, sum(n) AS total FROM ${table}`,
      );
      assert.deepEqual([Number(rows), total], [6, 12]);
    },
  );

  contractCase("a token does not carry over to the next insert without one", async (store) => {
    const table = uniqueName("contract_token");
    await store.command(DEDUP_TABLE(table));
    await store.insertRows(table, [{ k: "x", n: 1 }], `${table}:t`);
    await store.insertRows(table, [{ k: "y", n: 2 }]);
    await store.insertRows(table, [{ k: "z", n: 3 }]);
    const [{ rows }] = await store.query<{ rows: string }>(`SELECT count() AS rows FROM ${table}`);
    assert.equal(Number(rows), 3);
  });

  contractCase("one staged block feeds several inserts", async (store) => {
    const a = uniqueName("contract_a");
    const b = uniqueName("contract_b");
    for (const t of [a, b]) await store.command(DEDUP_TABLE(t));
    await store.insertBlock(block([5, 7]), [
      { sql: `INSERT INTO ${a} SELECT k, n FROM {source}` },
      { sql: `INSERT INTO ${b} SELECT k, n * 10 FROM {source}` },
    ]);
    const sum = async (t: string) => (await store.query<{ s: number }>(`SELECT sum(n) AS s FROM ${t}`))[0].s;
    assert.deepEqual([await sum(a), await sum(b)], [12, 120]);
  });

  contractCase(
    "EXCHANGE TABLES swaps several pairs in one statement; CREATE TABLE AS keeps settings",
    async (store) => {
      const live = uniqueName("contract_live");
      const shadow = `${live}_rebuild`;
      await store.command(DEDUP_TABLE(live));
      await store.command(`CREATE TABLE ${shadow} AS ${live}`);
      const [{ q }] = await store.query<{ q: string }>(
        "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
        { t: shadow },
      );
      assert.match(q, /non_replicated_deduplication_window = 100/);
      const other = uniqueName("contract_other");
      await store.command(DEDUP_TABLE(other));
      await store.command(`CREATE TABLE ${other}_rebuild AS ${other}`);
      await store.insertRows(live, [{ k: "old", n: 1 }]);
      await store.insertRows(shadow, [{ k: "new", n: 2 }, { k: "new2", n: 3 }]);
      await store.command(`EXCHANGE TABLES ${live} AND ${shadow}, ${other} AND ${other}_rebuild`);
      const count = async (t: string) =>
        Number((await store.query<{ c: string }>(`SELECT count() AS c FROM ${t}`))[0].c);
      assert.deepEqual([await count(live), await count(shadow)], [2, 1]);
    },
  );
}
