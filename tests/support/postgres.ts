/**
 * A schema of its own on a real Postgres server per test, dropped afterwards, so tests
 * share one server without seeing each other's tables.
 */
import { openPostgres, type SqlClient } from "../../adapters/postgres/sql-client.ts";

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
