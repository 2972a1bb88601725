/**
 * The analytics store port: ClickHouse, in-process through chDB or a server over HTTP.
 * Both speak the same SQL dialect, so only the transport differs.
 *
 * Bulk writes go through `insertBlock`: the caller hands a columnar block and an
 * `INSERT … SELECT … FROM {source}` statement; the adapter stages the block (a file for
 * chDB, the request body for a server) and substitutes `{source}`. A non-empty
 * `deduplicationToken` makes a retried insert a no-op on tables with a deduplication
 * window, which is how projections stay idempotent across replays.
 *
 * @example
 * await store.insertBlock(
 *   { rows: n, columns: [{ name: "v", type: "Float64", data: values }] },
 *   [{ sql: "INSERT INTO samples SELECT tenant, id, ts, v FROM {source}", deduplicationToken: "raw:3:100-164" }],
 * );
 */
export type ColumnType = "UInt8" | "UInt16" | "UInt32" | "UInt64" | "Int64" | "Float64";

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  /**
   * Little-endian values, `rows` of them. UInt64/Int64 columns are a Uint32Array of
   * (low, high) word pairs so no BigInt is needed on hot paths.
   */
  readonly data: Uint8Array | Uint16Array | Uint32Array | Float64Array;
}

export interface ColumnBlock {
  readonly rows: number;
  readonly columns: readonly Column[];
}

/** One `INSERT … SELECT … FROM {source}` over a staged block. */
export interface BlockInsert {
  readonly sql: string;
  readonly deduplicationToken?: string;
}

export type QueryParams = Record<string, unknown>;

export interface AnalyticsStore {
  /** DDL and other statements without a result. */
  command(sql: string, params?: QueryParams): Promise<void>;
  /** Rows as objects (JSONEachRow); 64-bit integers arrive as strings. */
  query<T>(sql: string, params?: QueryParams, settings?: Record<string, string | number>): Promise<T[]>;
  /** Small inserts of row objects. */
  insertRows(
    table: string,
    rows: readonly Record<string, unknown>[],
    deduplicationToken?: string,
  ): Promise<void>;
  /** Bulk inserts of one columnar block, staged once, each through `INSERT … SELECT … FROM {source}`. */
  insertBlock(block: ColumnBlock, inserts: readonly BlockInsert[]): Promise<void>;
  close(): Promise<void>;
}
