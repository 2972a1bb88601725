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
 *   [{ sql: "INSERT INTO samples (tenant, series_id, ts, value) SELECT tenant, id, ts, v FROM {source}", deduplicationToken: "raw:3:100-164" }],
 * );
 */
export type FixedType =
  | "UInt8"
  | "UInt16"
  | "UInt32"
  | "UInt64"
  | "Int32"
  | "Int64"
  | "Float64"
  | "Date"
  | "DateTime";

/**
 * One column of a block. UInt64/Int64 values are a Uint32Array of (low, high) word pairs
 * so no BigInt is needed on hot paths; `Date` is days and `DateTime` seconds since the
 * epoch. Array columns list each row's end in `data` (cumulative, like ClickHouse's
 * offsets). An aggregate state column carries states already in ClickHouse's binary form,
 * `width` bytes each, for a function whose state layout is fixed (checked by a test
 * against the engine).
 */
export type Column =
  | {
    readonly name: string;
    readonly type: FixedType;
    readonly data: Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;
  }
  | { readonly name: string; readonly type: "String"; readonly data: readonly string[] }
  | {
    readonly name: string;
    readonly type: "Array(String)";
    readonly ends: Uint32Array;
    readonly data: readonly string[];
  }
  | {
    readonly name: string;
    readonly type: "Array(Int32)";
    readonly ends: Uint32Array;
    readonly data: Int32Array;
  }
  | {
    readonly name: string;
    readonly type: "Array(UInt64)";
    readonly ends: Uint32Array;
    readonly data: Uint32Array;
  }
  | {
    readonly name: string;
    readonly type: "AggregateFunction";
    /** The function and argument types, e.g. `argMax, Float64, Int64`. */
    readonly signature: string;
    readonly width: number;
    readonly data: Uint8Array;
  };

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
