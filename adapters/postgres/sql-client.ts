/**
 * One SQL connection surface over both Postgres drivers: PGlite (Postgres compiled to
 * WASM, in-process, a data directory like SQLite's file) and `pg` (a Postgres server).
 * The event store runs plain SQL through `query`; the rules table uses drizzle on the
 * same connection (`drizzle`), so both live in one database and one transaction scope.
 *
 * @example
 * const sql = await openPglite({ dataDir: "./data/pglite" });
 * const rows = await sql.query<{ n: number }>("select 1 as n");
 */
import { PGlite } from "@electric-sql/pglite";
import { type PgliteClient, pgliteOnPort, startPgliteWorker } from "./pglite-worker-client.ts";
import { type PgliteTemplate, seedPgliteDataDir } from "./pglite-template.ts";
import pg from "pg";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]>;
}

export type Drizzle = PgDatabase<PgQueryResultHKT>;

export interface SqlClient extends SqlExecutor {
  /** Runs `work` in one transaction; it commits when `work` resolves and rolls back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs several `;`-separated statements without parameters (schema set-up). */
  exec(statements: string): Promise<void>;
  readonly drizzle: Drizzle;
  readonly dialect: "pglite" | "postgres";
  /** A port for another thread's connection to this PGlite database run in a Worker (`openPgliteOnPort`). */
  connect?(): MessagePort;
  close(): Promise<void>;
}

export interface PgliteOptions {
  /** Folder of the database; in memory without one. */
  readonly dataDir?: string;
  /** A new `dataDir` starts as a copy of this template instead of running initdb. */
  readonly template?: PgliteTemplate;
  /** Runs the database in a Worker (`pglite-worker-client.ts`) instead of on the caller's thread. */
  readonly worker?: boolean;
}

/** PGlite in `dataDir`, or in memory without one. */
export async function openPglite(options: PgliteOptions = {}): Promise<SqlClient> {
  if (options.dataDir !== undefined && options.template !== undefined) {
    await seedPgliteDataDir(options.dataDir, options.template);
  }
  if (options.worker) {
    const started = await startPgliteWorker(options.dataDir);
    return { ...pgliteClient(started.db, started.close), connect: started.connect };
  }
  const local = await PGlite.create(options.dataDir);
  return pgliteClient(local, () => local.close());
}

/** The PGlite database another thread runs in a Worker, over the port its `connect` gave. */
export function openPgliteOnPort(port: MessagePort): SqlClient {
  const connection = pgliteOnPort(port);
  return pgliteClient(connection.db, connection.close);
}

function pgliteClient(db: PgliteClient, close: () => Promise<void>): SqlClient {
  return {
    dialect: "pglite",
    query: async <Row>(text: string, params?: readonly unknown[]) =>
      (await db.query<Row>(text, params as unknown[])).rows,
    transaction: (work) =>
      db.transaction((tx) =>
        work({
          query: async <Row>(text: string, params?: readonly unknown[]) =>
            (await tx.query<Row>(text, params as unknown[])).rows,
        })
      ),
    exec: async (statements) => {
      await db.exec(statements);
    },
    // drizzle's PGlite driver calls `query` and `transaction` only; it types the in-thread client.
    drizzle: drizzlePglite({ client: db as PGlite }) as unknown as Drizzle,
    close,
  };
}

export interface PostgresOptions {
  readonly url: string;
  /** Schema the connection works in (created if missing); `public` by default. */
  readonly schema?: string;
  readonly maxConnections?: number;
}

export async function openPostgres(options: PostgresOptions): Promise<SqlClient> {
  const schema = options.schema ?? "public";
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new Error(`Postgres schema "${schema}" is not a plain identifier`);
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 8,
    options: `-c search_path=${schema}`,
  });
  await pool.query(`create schema if not exists ${schema}`);
  const query = async <Row>(text: string, params?: readonly unknown[]) =>
    (await pool.query(text, params as unknown[])).rows as Row[];
  return {
    dialect: "postgres",
    query,
    transaction: async (work) => {
      const client = await pool.connect();
      try {
        await client.query("begin");
        const result = await work({
          query: async <Row>(text: string, params?: readonly unknown[]) =>
            (await client.query(text, params as unknown[])).rows as Row[],
        });
        await client.query("commit");
        return result;
      } catch (error) {
        await client.query("rollback").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    exec: async (statements) => {
      await pool.query(statements);
    },
    drizzle: drizzlePg({ client: pool }) as unknown as Drizzle,
    close: () => pool.end(),
  };
}
