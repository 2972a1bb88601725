/**
 * chDB applies per-statement settings as session `SET`s, so a deduplication token set
 * for one insert would otherwise stay on the session: a later insert without a token
 * into a table with a deduplication window would reuse it and be dropped as a replay.
 */
import assert from "node:assert/strict";
import { sharedStore, uniqueName } from "../support/analytics.ts";

Deno.test("store: an insert without a token does not inherit the previous insert's token", async () => {
  const store = await sharedStore();
  const table = uniqueName("dedup");
  await store.command(
    `CREATE TABLE ${table} (n UInt64) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = 100`,
  );
  try {
    // given an insert with a token
    await store.insertBlock(
      { rows: 1, columns: [{ name: "n", type: "UInt64", data: new Uint32Array([1, 0]) }] },
      [{ sql: `INSERT INTO ${table} SELECT n FROM {source}`, deduplicationToken: `${table}:a` }],
    );
    // when different rows follow without a token, as statements and as rows
    await store.command(`INSERT INTO ${table} VALUES (2)`);
    await store.insertRows(table, [{ n: 3 }]);
    await store.insertBlock(
      { rows: 1, columns: [{ name: "n", type: "UInt64", data: new Uint32Array([4, 0]) }] },
      [{ sql: `INSERT INTO ${table} SELECT n FROM {source}` }],
    );
    // then every one of them landed
    const rows = await store.query<{ n: number }>(`SELECT toUInt32(n) AS n FROM ${table} ORDER BY n`);
    assert.deepEqual(rows.map((r) => r.n), [1, 2, 3, 4]);
  } finally {
    await store.command(`DROP TABLE IF EXISTS ${table}`);
  }
});

Deno.test("store: one query's limit does not cap the next query", async () => {
  const store = await sharedStore();
  // given a query refused by its own row limit
  await assert.rejects(
    store.query("SELECT count() AS n FROM numbers(100000)", {}, { max_rows_to_read: 10 }),
    /limit/i,
  );
  // then a query without that limit reads all its rows
  const [row] = await store.query<{ n: string }>("SELECT count() AS n FROM numbers(100000)");
  assert.equal(Number(row.n), 100000);
});
