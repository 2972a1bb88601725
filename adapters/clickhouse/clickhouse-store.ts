/**
 * The analytics store on ClickHouse through `@clickhouse/client`: in-process with chDB
 * (`chdb/connection`) when `path` is given, a ClickHouse server over HTTP when `url` is.
 *
 * Bulk blocks travel in the Native format. chDB's connection decodes request bodies as
 * UTF-8, which corrupts binary data, so for chDB a block is staged as a file (in
 * `/dev/shm` where present) and read with `file(…, 'Native')`; a server gets the block
 * as the request body of `INSERT … SELECT … FROM input(…) FORMAT Native`.
 *
 * @example
 * const store = await openClickHouseStore({ path: "./data/clickhouse" });
 */
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import type {
  AnalyticsStore,
  BlockInsert,
  ColumnBlock,
  QueryParams,
} from "../../domain/ports/analytics-store.ts";
import { Unavailable } from "../../domain/errors.ts";
import { blockStructure, encodeNativeBlock } from "./native-block.ts";

export type ClickHouseStoreOptions =
  | { readonly path: string; readonly stagingDir?: string }
  | {
    readonly url: string;
    readonly username?: string;
    readonly password?: string;
    readonly database?: string;
  };

export function openClickHouseStore(options: ClickHouseStoreOptions): AnalyticsStore {
  if ("path" in options) {
    // chdb/connection is typed against its own copy of @clickhouse/client-common; the
    // runtime interface is the same.
    const connection = createChdbConnection({ path: options.path }) as unknown as ConnectionOption;
    const client = createClient({ connection });
    return new ClickHouseStore(client, { kind: "file", dir: stagingDirFor(options) });
  }
  const client = createClient({
    url: options.url,
    username: options.username,
    password: options.password,
    database: options.database,
    request_timeout: 120_000,
  });
  return new ClickHouseStore(client, { kind: "body" });
}

/**
 * A staging directory owned by this data path (chDB lets one process open it), emptied
 * on open: files a killed process left behind must not pile up in memory-backed /dev/shm.
 */
function stagingDirFor(options: { path: string; stagingDir?: string }): string {
  const dir = stagingDirectory(options.path, options.stagingDir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Where blocks for the chDB engine at `path` are staged. */
export function stagingDirectory(path: string, root?: string): string {
  const base = root ?? (existsSync("/dev/shm") ? "/dev/shm" : path);
  const owner = createHash("sha256").update(resolve(path)).digest("hex").slice(0, 16);
  return join(base, `lookout-staging-${owner}`);
}

type ConnectionOption = NonNullable<Parameters<typeof createClient>[0]>["connection"];

type Staging = { kind: "file"; dir: string } | { kind: "body" };

let stagedFiles = 0;

class ClickHouseStore implements AnalyticsStore {
  /**
   * chDB can hang when one process runs statements concurrently (chdb-io/chdb#426), so
   * the embedded engine takes one statement at a time; a server takes them in parallel.
   */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly client: ClickHouseClient, private readonly staging: Staging) {}

  async command(sql: string, params?: QueryParams): Promise<void> {
    await this.#guard(() => this.client.command({ query: sql, query_params: params }));
  }

  async query<T>(
    sql: string,
    params?: QueryParams,
    settings?: Record<string, string | number>,
  ): Promise<T[]> {
    return await this.#guard(async () => {
      const rs = await this.client.query({
        query: sql,
        query_params: params,
        format: "JSONEachRow",
        clickhouse_settings: settings as Record<string, string>,
      });
      return await rs.json<T>();
    });
  }

  async insertRows(table: string, rows: readonly Record<string, unknown>[], token?: string): Promise<void> {
    if (rows.length === 0) return;
    await this.#guard(() =>
      this.client.insert({
        table,
        values: rows as Record<string, unknown>[],
        format: "JSONEachRow",
        clickhouse_settings: token ? { insert_deduplication_token: token } : undefined,
      })
    );
  }

  async insertBlock(block: ColumnBlock, inserts: readonly BlockInsert[]): Promise<void> {
    if (block.rows === 0 || inserts.length === 0) return;
    const body = encodeNativeBlock(block);
    const settings = (insert: BlockInsert) =>
      insert.deduplicationToken ? { insert_deduplication_token: insert.deduplicationToken } : undefined;
    if (this.staging.kind === "file") {
      const file = join(this.staging.dir, `${++stagedFiles}.native`);
      await writeFile(file, body);
      try {
        for (const insert of inserts) {
          const query = insert.sql.replace("{source}", `file('${file}', 'Native')`);
          await this.#guard(() => this.client.command({ query, clickhouse_settings: settings(insert) }));
        }
      } finally {
        await rm(file, { force: true });
      }
      return;
    }
    const source = `input('${blockStructure(block)}')`;
    for (const insert of inserts) {
      const query = insert.sql.replace("{source}", source) + " FORMAT Native";
      await this.#guard(() =>
        this.client.exec({ query, values: Readable.from([body]), clickhouse_settings: settings(insert) })
      );
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  #guard<T>(operation: () => Promise<T>): Promise<T> {
    if (this.staging.kind === "body") return this.#translate(operation);
    const run = this.#queue.then(() => this.#translate(operation));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #translate<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isConnectionFault(error)) {
        throw new Unavailable(`ClickHouse is unreachable: ${(error as Error).message}`, 2);
      }
      throw error;
    }
  }
}

function isConnectionFault(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "ECONNREFUSED" || code === "ECONNRESET" || code === "ETIMEDOUT" || code === "EPIPE";
}
