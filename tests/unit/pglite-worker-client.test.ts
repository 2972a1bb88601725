import assert from "node:assert/strict";
import { startPgliteWorker } from "../../adapters/postgres/pglite-worker-client.ts";

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
