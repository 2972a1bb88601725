/**
 * A real Postgres server for tests: its address, and a schema of its own per test,
 * dropped afterwards, so tests share one server without seeing each other's tables.
 */
import { join } from "node:path";
import { openPglite, openPostgres, type SqlClient } from "../../adapters/postgres/sql-client.ts";
import { defaultCacheDir, installedPgliteVersion } from "../../adapters/postgres/pglite-template.ts";
import { component } from "./component.ts";

/** The Postgres server tests run against: required in CI, skipped with a message elsewhere. */
export function testPostgresUrl(): string | undefined {
  return component(
    "Postgres",
    Deno.env.get("LOOKOUT_TEST_POSTGRES_URL"),
    "set LOOKOUT_TEST_POSTGRES_URL=postgres://user:pass@127.0.0.1:5432/db (.ci/run starts one)",
  ).url;
}

export async function freshSchema(url: string): Promise<{ sql: SqlClient; drop: () => Promise<void> }> {
  const schema = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const sql = await openPostgres({ url, schema });
  return {
    sql,
    drop: async () => {
      await sql.exec(`drop schema ${schema} cascade`);
      await sql.close();
    },
  };
}

/**
 * An embedded PGlite database in a new temporary folder, copied from the template in the
 * user's cache as the program does, so a test file pays initdb at most once per machine.
 */
export async function scratchPglite(options: { readonly worker?: boolean } = {}): Promise<SqlClient> {
  const version = await installedPgliteVersion();
  const cacheDir = defaultCacheDir(Deno.env.toObject());
  const root = await Deno.makeTempDir({ prefix: "lookout-test-pglite-" });
  const sql = await openPglite({
    dataDir: join(root, "pglite"),
    template: version !== undefined && cacheDir !== "" ? { cacheDir, version } : undefined,
    worker: options.worker,
  });
  globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
  return sql;
}
