/**
 * A real Postgres server for tests: its address, and a schema of its own per test,
 * dropped afterwards, so tests share one server without seeing each other's tables.
 */
import { openPostgres, type SqlClient } from "../../adapters/postgres/sql-client.ts";
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
