/**
 * The body of the Worker that owns an embedded PGlite database (started by
 * `startPgliteWorker`). Each request (a statement, a batch of statements, the start or
 * the end of a transaction, closing) is one message on the Worker's own port and its
 * answer one message back, so a statement costs one round trip. A transaction holds
 * PGlite's exclusive lock from `begin` to `end`; statements outside it wait for the
 * lock in PGlite, as they would on the caller's thread. A port handed over by `connect`
 * is served the same way as one more connection, with transactions of its own.
 */
import { PGlite, type Results, type Transaction } from "@electric-sql/pglite";
import type { Reply, Request } from "./pglite-worker-client.ts";

// This module runs as a Worker; Deno types it with the window globals.
const scope = globalThis as unknown as {
  postMessage(message: Reply): void;
  onmessage: ((event: MessageEvent<Request>) => void) | null;
};

interface OpenTransaction {
  readonly tx: Transaction;
  /** Lets the transaction's body return: commit, or roll back first. */
  readonly decide: (commit: boolean) => void;
  /** Settles when PGlite has committed or rolled back. */
  readonly done: Promise<void>;
}

/** The open transactions of one connection, by the id of the request that began each. */
type Transactions = Map<number, OpenTransaction>;
let db: Promise<PGlite> | undefined;

/** Keeps the named types as they are sent (strings); the client applies its parsers to them. */
function rawParsers(types: readonly number[]): Record<number, (value: string) => string> {
  return Object.fromEntries(types.map((type) => [type, (value: string) => value]));
}

function on(
  transactions: Transactions,
  tx: number | undefined,
): Promise<Pick<Transaction, "query" | "exec">> | Pick<Transaction, "query" | "exec"> {
  if (tx === undefined) return db!;
  const open = transactions.get(tx);
  if (open === undefined) throw new Error(`transaction ${tx} is not open`);
  return open.tx;
}

async function begin(transactions: Transactions, id: number): Promise<void> {
  let entered!: (open: OpenTransaction) => void;
  const inside = new Promise<OpenTransaction>((resolve) => entered = resolve);
  const done = (await db!).transaction(async (tx) => {
    const decided = new Promise<boolean>((decide) => entered({ tx, decide, done }));
    if (!(await decided)) await tx.rollback();
  });
  // BEGIN failing rejects `done` before the body runs.
  transactions.set(id, await Promise.race([inside, done.then(() => inside)]));
}

async function handle(request: Request, transactions: Transactions): Promise<unknown> {
  switch (request.op) {
    case "open":
      db = PGlite.create(request.dataDir);
      await db;
      return undefined;
    case "query": {
      const target = await on(transactions, request.tx);
      const results: Results = await target.query(request.text, request.params as unknown[] | undefined, {
        rowMode: request.rowMode,
        parsers: rawParsers(request.rawTypes),
      });
      return { rows: results.rows, fields: results.fields, affectedRows: results.affectedRows };
    }
    case "exec":
      return (await (await on(transactions, request.tx)).exec(request.text)).map((r) => ({
        rows: r.rows,
        fields: r.fields,
        affectedRows: r.affectedRows,
      }));
    case "begin":
      await begin(transactions, request.id);
      return request.id;
    case "end": {
      const open = transactions.get(request.tx);
      if (open === undefined) throw new Error(`transaction ${request.tx} is not open`);
      transactions.delete(request.tx);
      open.decide(request.commit);
      await open.done;
      return undefined;
    }
    case "close":
      await (await db)?.close();
      return undefined;
    case "connect":
      serve(request.port);
      return undefined;
    case "disconnect":
      for (const open of transactions.values()) open.decide(false);
      await Promise.allSettled([...transactions.values()].map((open) => open.done));
      transactions.clear();
      return undefined;
  }
}

/** Answers each request from `source` on `reply`, in a connection of its own. */
function listen(
  source: { onmessage: ((event: MessageEvent<Request>) => void) | null },
  reply: (message: Reply) => void,
  ended: () => void = () => {},
): void {
  const transactions: Transactions = new Map();
  source.onmessage = (event) => {
    const request = event.data;
    handle(request, transactions).then(
      (result) => {
        reply({ id: request.id, ok: true, result });
        if (request.op === "disconnect") ended();
      },
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        // PGlite's DatabaseError carries the server's fields (code, detail, …) as own properties.
        const fields = Object.fromEntries(Object.entries(e).filter(([, v]) => typeof v !== "function"));
        reply({ id: request.id, ok: false, error: { ...fields, message: e.message, name: e.name } });
      },
    );
  };
}

function serve(port: MessagePort): void {
  listen(port, (message) => port.postMessage(message), () => port.close());
}

listen(scope, (message) => scope.postMessage(message));
