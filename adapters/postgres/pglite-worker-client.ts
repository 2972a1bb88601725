/**
 * PGlite in a Worker of its own. PGlite runs Postgres compiled to WASM, and each query
 * runs synchronously on the thread that owns it: on the main thread, an incident storm's
 * thousands of statements would hold up ingest and every other request until they are
 * done. In a Worker they run beside the event loop (on another core where there is one).
 *
 * The client speaks to the Worker (`pglite-worker.ts`) one message per statement on the
 * Worker's own port. (PGlite's `PGliteWorker` sends each statement's protocol messages,
 * locks and file syncs as a dozen calls over a `BroadcastChannel`, which cost more CPU on
 * this side than ingest at 20k samples/s: `bench/RESULTS.md`.) It offers the part of
 * PGlite's client that drizzle's PGlite driver and the SQL client use: `query` (with
 * `rowMode` and `parsers`), `exec` and `transaction`. Parsers run here, on the values
 * the Worker sends as text.
 *
 * Another thread of the process reaches the same database through a port of its own
 * (`connect`, then `pgliteOnPort` in that thread): the Worker serves each port as one
 * more connection, with its own transactions.
 *
 * @example
 * const { db, connect, close } = await startPgliteWorker("./data/pglite");
 * await db.query("select 1");
 * worker.postMessage({ pglite: connect() }, [port]); // pgliteOnPort(port) over there
 * await close();
 */
import type { QueryOptions, Results, Transaction } from "@electric-sql/pglite";

const CLOSE_TIMEOUT_MS = 30_000;

/** A message to the Worker; every one is answered with a `Reply` of the same id. */
export type Request =
  & { readonly id: number }
  & (
    | { readonly op: "open"; readonly dataDir: string | undefined }
    | {
      readonly op: "query";
      readonly text: string;
      readonly params: readonly unknown[] | undefined;
      readonly rowMode: "object" | "array" | undefined;
      /** Types sent as text, for the client's parsers. */
      readonly rawTypes: readonly number[];
      readonly tx: number | undefined;
    }
    | { readonly op: "exec"; readonly text: string; readonly tx: number | undefined }
    | { readonly op: "begin" }
    | { readonly op: "end"; readonly tx: number; readonly commit: boolean }
    | { readonly op: "close" }
    /** Serves `port` as another connection (its requests and replies go over the port). */
    | { readonly op: "connect"; readonly port: MessagePort }
    /** Ends this connection: rolls back its open transactions and stops serving its port. */
    | { readonly op: "disconnect" }
  );

export type Reply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | {
    readonly id: number;
    readonly ok: false;
    readonly error: Record<string, unknown> & { message: string };
  };

type RequestBody = Request extends infer R ? R extends Request ? Omit<R, "id"> : never : never;

/** The part of PGlite's client (`PGliteInterface`) this one offers. */
export interface PgliteClient {
  query<T>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(text: string, options?: QueryOptions): Promise<Results[]>;
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
}

export interface PgliteInWorker {
  readonly db: PgliteClient;
  /** A port for another thread's connection to the database (`pgliteOnPort`); transfer it there. */
  connect(): MessagePort;
  /** Shuts the database down in the Worker, then ends the Worker. */
  close(): Promise<void>;
}

/** What a connection talks over: the Worker itself, or a port it serves. */
interface Endpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<Reply>) => void) | null;
}

class WorkerPort {
  readonly #endpoint: Endpoint;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  #next = 1;

  constructor(endpoint: Endpoint) {
    this.#endpoint = endpoint;
    endpoint.onmessage = (event: MessageEvent<Reply>) => {
      const reply = event.data;
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.ok) pending.resolve(reply.result);
      else pending.reject(Object.assign(new Error(reply.error.message), reply.error));
    };
  }

  /** Rejects what is pending with `reason`. */
  fail(reason: string): void {
    for (const pending of this.#pending.values()) pending.reject(new Error(`PGlite worker: ${reason}`));
    this.#pending.clear();
  }

  #ended = false;

  /** Rejects what is pending and every later call. */
  end(): void {
    this.#ended = true;
    for (const pending of this.#pending.values()) {
      pending.reject(new Error("PGlite worker: the database is closed"));
    }
    this.#pending.clear();
  }

  call<T>(body: RequestBody, transfer: Transferable[] = []): Promise<T> {
    if (this.#ended) return Promise.reject(new Error("PGlite worker: the database is closed"));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#endpoint.postMessage({ ...body, id }, transfer);
    });
  }
}

/** Applies the caller's parsers to the columns of the types the Worker sent as text. */
function parsed<T>(results: Results<T>, options: QueryOptions | undefined): Results<T> {
  const parsers = options?.parsers;
  if (parsers === undefined) return results;
  const columns = results.fields.flatMap((field, i) => {
    const parser = parsers[field.dataTypeID];
    return parser === undefined ? [] : [{ key: options?.rowMode === "array" ? i : field.name, parser }];
  });
  if (columns.length === 0) return results;
  for (const row of results.rows as Record<string | number, unknown>[]) {
    for (const { key, parser } of columns) {
      const value = row[key];
      if (value !== null && value !== undefined) row[key] = parser(value as string);
    }
  }
  return results;
}

function checked(options: QueryOptions | undefined): void {
  if (options?.serializers !== undefined || options?.blob !== undefined || options?.onNotice !== undefined) {
    throw new Error("PGlite in a Worker: serializers, blobs and notice callbacks are not supported");
  }
}

function client(port: WorkerPort, tx: number | undefined): Pick<PgliteClient, "query" | "exec"> {
  return {
    async query<T>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
      checked(options);
      const results = await port.call<Results<T>>({
        op: "query",
        text,
        params,
        rowMode: options?.rowMode,
        rawTypes: Object.keys(options?.parsers ?? {}).map(Number),
        tx,
      });
      return parsed(results, options);
    },
    async exec(text: string, options?: QueryOptions): Promise<Results[]> {
      checked(options);
      return await port.call<Results[]>({ op: "exec", text, tx });
    },
  };
}

/** Opens `dataDir` (in memory without one) in a new Worker. */
export async function startPgliteWorker(dataDir: string | undefined): Promise<PgliteInWorker> {
  const thread = new Worker(new URL("./pglite-worker.ts", import.meta.url), { type: "module" });
  const port = new WorkerPort(thread as unknown as Endpoint);
  thread.addEventListener("error", (event) => {
    event.preventDefault();
    port.fail(event.message);
  });
  await port.call({ op: "open", dataDir });
  return {
    db: clientOn(port),
    connect() {
      const channel = new MessageChannel();
      // The Worker answers on the port itself; this side only hands it over.
      void port.call({ op: "connect", port: channel.port2 }, [channel.port2]).catch(() => {});
      return channel.port1;
    },
    async close() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        port.call({ op: "close" }).catch(() => {}),
        new Promise((resolve) => timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)),
      ]);
      clearTimeout(timer);
      port.end();
      thread.terminate();
    },
  };
}

/**
 * The database of a PGlite Worker started by another thread, over the port its
 * `connect` gave: `close` ends this connection, not the database.
 */
export function pgliteOnPort(endpoint: MessagePort): { db: PgliteClient; close(): Promise<void> } {
  const port = new WorkerPort(endpoint as unknown as Endpoint);
  return {
    db: clientOn(port),
    async close() {
      await port.call({ op: "disconnect" }).catch(() => {});
      port.end();
      endpoint.close();
    },
  };
}

function clientOn(port: WorkerPort): PgliteClient {
  const outside = client(port, undefined);
  return {
    ...outside,
    async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
      const id = await port.call<number>({ op: "begin" });
      const inside = client(port, id);
      let closed = false;
      const open = () => {
        if (closed) throw new Error("Transaction is closed");
      };
      const tx: Transaction = {
        query: (text, params, options) => (open(), inside.query(text, params, options)),
        exec: (text, options) => (open(), inside.exec(text, options)),
        sql: () => Promise.reject(new Error("PGlite in a Worker: tagged-template queries are not supported")),
        listen: () => Promise.reject(new Error("PGlite in a Worker: LISTEN is not supported")),
        rollback: async () => {
          open();
          closed = true;
          await port.call({ op: "end", tx: id, commit: false });
        },
        get closed() {
          return closed;
        },
      };
      let result: T;
      try {
        result = await work(tx);
      } catch (error) {
        if (!closed) {
          closed = true;
          await port.call({ op: "end", tx: id, commit: false });
        }
        throw error;
      }
      if (!closed) {
        closed = true;
        await port.call({ op: "end", tx: id, commit: true });
      }
      return result;
    },
  };
}
