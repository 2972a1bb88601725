import assert from "node:assert/strict";
import { pgliteOnPort, startPgliteWorker } from "../../adapters/postgres/pglite-worker-client.ts";

Deno.test("PGlite in a Worker: a throw inside a transaction leaves no rows and the client still works", async () => {
  const { db, close } = await startPgliteWorker(undefined);
  try {
    await db.exec("CREATE TABLE t (id int PRIMARY KEY)");
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO t VALUES (1)");
        throw new Error("boom");
      }),
      /boom/,
    );
    const result = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM t");
    assert.equal(result.rows[0].n, 0);
  } finally {
    await close();
  }
});

Deno.test("PGlite in a Worker: a unique violation surfaces code 23505", async () => {
  const { db, close } = await startPgliteWorker(undefined);
  try {
    await db.exec("CREATE TABLE u (id int PRIMARY KEY)");
    await db.query("INSERT INTO u VALUES (1)");
    await assert.rejects(
      db.query("INSERT INTO u VALUES (1)"),
      (error: { code?: string }) => error.code === "23505",
    );
  } finally {
    await close();
  }
});

Deno.test("PGlite in a Worker: a query after close rejects", async () => {
  const { db, close } = await startPgliteWorker(undefined);
  await close();
  await assert.rejects(db.query("SELECT 1"), /closed/);
});

Deno.test("PGlite in a Worker: a statement outside an open transaction waits for it and never sees its rows", async () => {
  const { db, close } = await startPgliteWorker(undefined);
  try {
    await db.exec("CREATE TABLE w (id int PRIMARY KEY)");
    let release!: () => void;
    const held = new Promise<void>((resolve) => release = resolve);
    const order: string[] = [];
    let outside: Promise<number> | undefined;
    const rolledBack = db.transaction(async (tx) => {
      await tx.query("INSERT INTO w VALUES (1)");
      // Asked while the transaction holds the database, on the one connection PGlite has.
      outside = db.query<{ n: number }>("SELECT count(*)::int AS n FROM w").then((r) => {
        order.push("outside");
        return r.rows[0].n;
      });
      // The transaction goes on while the outside statement waits.
      const inside = await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM w");
      assert.equal(inside.rows[0].n, 1);
      await held;
      order.push("rollback");
      throw new Error("rolled back");
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(order, [], "the outside statement ran while the transaction was open");
    release();
    await assert.rejects(rolledBack, /rolled back/);
    assert.equal(await outside, 0);
    assert.deepEqual(order, ["rollback", "outside"]);
  } finally {
    await close();
  }
});

Deno.test("PGlite in a Worker: parsers apply to their types' columns, in object and array rows, nulls kept", async () => {
  const { db, close } = await startPgliteWorker(undefined);
  try {
    const INT8 = 20;
    const NUMERIC = 1700;
    const parsers = { [INT8]: (v: string) => BigInt(v), [NUMERIC]: (v: string) => `n:${v}` };
    const sql =
      "SELECT 9007199254740993::int8 AS big, 1.50::numeric AS num, NULL::int8 AS none, 7::int4 AS small";
    const objects = await db.query<Record<string, unknown>>(sql, [], { parsers });
    assert.deepEqual(objects.rows, [{ big: 9007199254740993n, num: "n:1.50", none: null, small: 7 }]);
    const arrays = await db.query<unknown[]>(sql, [], { parsers, rowMode: "array" });
    assert.deepEqual(arrays.rows, [[9007199254740993n, "n:1.50", null, 7]]);
    // Without parsers, PGlite's own: int4 as a number, numeric as text.
    const plain = await db.query<Record<string, unknown>>("SELECT 7::int4 AS small, 1.50::numeric AS num");
    assert.deepEqual(plain.rows, [{ small: 7, num: "1.50" }]);
  } finally {
    await close();
  }
});

Deno.test("PGlite in a Worker: a port from connect is another connection to the same database", async () => {
  const { db, connect, close } = await startPgliteWorker(undefined);
  const other = pgliteOnPort(connect());
  try {
    await db.exec("CREATE TABLE c (id int PRIMARY KEY)");
    await other.db.query("INSERT INTO c VALUES (1)");
    assert.equal((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM c")).rows[0].n, 1);
    await db.transaction(async (tx) => void await tx.query("INSERT INTO c VALUES (3)"));
    // The other connection leaves with its transaction open: ending the connection rolls
    // that transaction back and frees the database for this one.
    let inserted!: () => void;
    const insertedTwo = new Promise<void>((resolve) => inserted = resolve);
    let release!: () => void;
    const held = new Promise<void>((resolve) => release = resolve);
    const abandoned = other.db.transaction(async (tx) => {
      await tx.query("INSERT INTO c VALUES (2)");
      inserted();
      await held;
    });
    await insertedTwo;
    await within(other.close(), "the connection's end");
    release();
    await assert.rejects(abandoned, /closed/);
    await assert.rejects(other.db.query("SELECT 1"), /closed/);
    const ids = await within(db.query<{ id: number }>("SELECT id FROM c ORDER BY id"), "a read after it");
    assert.deepEqual(ids.rows.map((r) => r.id), [1, 3]);
  } finally {
    await other.close();
    await close();
  }
});

/** `promise`, or a failure naming `what` after 5 s (a transaction left open holds the database). */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), 5_000)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
