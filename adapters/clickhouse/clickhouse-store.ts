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
    // A statement naming a wide selection binds its ids as one parameter; past the URL's
    // budget the client sends the parameters in a multipart body instead.
    use_multipart_params_auto: true,
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
  /** chDB: every setting a statement has set on the session, with its default. */
  readonly #defaults = new Map<string, string | number>();

  constructor(private readonly client: ClickHouseClient, private readonly staging: Staging) {}

  async command(sql: string, params?: QueryParams): Promise<void> {
    await this.#guard(
      undefined,
      (settings) => this.client.command({ query: sql, query_params: params, clickhouse_settings: settings }),
    );
  }

  async query<T>(sql: string, params?: QueryParams, own?: Record<string, string | number>): Promise<T[]> {
    return await this.#guard(own, async (settings) => {
      const rs = await this.client.query({
        query: sql,
        query_params: params,
        format: "JSONEachRow",
        clickhouse_settings: settings,
      });
      return await rs.json<T>();
    });
  }

  async insertRows(table: string, rows: readonly Record<string, unknown>[], token?: string): Promise<void> {
    if (rows.length === 0) return;
    await this.#guard(tokenSetting(token), (settings) =>
      this.client.insert({
        table,
        values: rows as Record<string, unknown>[],
        format: "JSONEachRow",
        clickhouse_settings: settings,
      }));
  }

  async insertBlock(block: ColumnBlock, inserts: readonly BlockInsert[]): Promise<void> {
    if (block.rows === 0 || inserts.length === 0) return;
    const body = encodeNativeBlock(block);
    if (this.staging.kind === "file") {
      const file = join(this.staging.dir, `${++stagedFiles}.native`);
      await writeFile(file, body);
      try {
        for (const insert of inserts) {
          const query = insert.sql.replace("{source}", `file('${file}', 'Native')`);
          await this.#guard(
            tokenSetting(insert.deduplicationToken),
            (settings) => this.client.command({ query, clickhouse_settings: settings }),
          );
        }
      } finally {
        await rm(file, { force: true });
      }
      return;
    }
    const source = `input('${blockStructure(block)}')`;
    for (const insert of inserts) {
      const query = insert.sql.replace("{source}", source) + " FORMAT Native";
      await this.#guard(
        tokenSetting(insert.deduplicationToken),
        (settings) =>
          this.client.exec({ query, values: Readable.from([body]), clickhouse_settings: settings }),
      );
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /**
   * Runs a statement with its own settings. chDB applies them as `SET`s on its session,
   * where they would outlive the statement (a deduplication token reused by the next
   * insert drops it as a replay; one query's row limit caps the next), so on chDB every
   * statement also sets each setting any earlier statement set, to its own value or
   * back to the session default read before it was first changed.
   */
  #guard<T>(own: Settings | undefined, operation: (settings?: Settings) => Promise<T>): Promise<T> {
    if (this.staging.kind === "body") return this.#translate(() => operation(own));
    const run = this.#queue.then(() =>
      this.#translate(async () => operation(await this.#sessionSettings(own)))
    );
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #sessionSettings(own: Settings | undefined): Promise<Settings | undefined> {
    for (const name of Object.keys(own ?? {})) {
      if (this.#defaults.has(name)) continue;
      const rs = await this.client.query({
        query: "SELECT toString(getSetting({name:String})) AS value",
        query_params: { name },
        format: "JSONEachRow",
      });
      const [{ value }] = await rs.json<{ value: string }>();
      this.#defaults.set(name, settingValue(value));
    }
    if (this.#defaults.size === 0) return own;
    return { ...Object.fromEntries(this.#defaults), ...own };
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

type Settings = Record<string, string | number>;

function tokenSetting(token: string | undefined): Settings {
  // An empty token means none: ClickHouse then de-duplicates by the block's hash.
  return { insert_deduplication_token: token ?? "" };
}

/** A setting as `SET` takes it back: numbers and booleans unquoted. */
function settingValue(text: string): string | number {
  if (text === "true" || text === "false") return text === "true" ? 1 : 0;
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}

function isConnectionFault(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "ECONNREFUSED" || code === "ECONNRESET" || code === "ETIMEDOUT" || code === "EPIPE";
}
