/**
 * The alert path in a Worker of its own: the streaming evaluator, the read-model
 * projector that writes incidents and their notifications, and the delivery worker.
 * On a thread shared with ingest and the read-model projectors, each step of that path
 * waited behind their synchronous work (a projector batch plans for tens of milliseconds
 * to seconds, a 10k-sample request decodes for tens), and at 200k samples/s the path
 * took seconds; on its own thread it waits only for a core.
 *
 * The Worker (`alerting-thread-worker.ts`) opens its own connections: the log from its
 * `LogSpec` (an embedded log's appends on this thread wake its consumers through the
 * log's `peers` channel), PGlite through a port of the Worker that owns it (or its own
 * Postgres pool), and its own event store, whose appends and this thread's wake each
 * other's subscriptions through `peers`. It reports each position its projector reaches,
 * so a request here can wait for its own change to be visible (`projected`).
 *
 * @example
 * const thread = await AlertingThread.start({ log: spec, pglite: sql.connect!(), ... });
 * await thread.projected(position);
 * await thread.close();
 */
import type { Position } from "../domain/ports/event-store.ts";
import type { NotificationRate } from "./notifier/dispatcher.ts";
import type { LogSpec } from "./open-log.ts";
import { ProjectedPosition } from "./projected-position.ts";

const STOP_TIMEOUT_MS = 30_000;

/** What the Worker is started with; everything but `pglite` is copied to it. */
export interface AlertingThreadOptions {
  readonly log: LogSpec;
  /** A port to the PGlite Worker, transferred to this one; or `postgresUrl`. */
  readonly pglite?: MessagePort;
  readonly postgresUrl?: string;
  readonly eventStoreUrl?: string;
  readonly peers?: string;
  readonly dataDir: string;
  readonly samplePartitions?: number;
  readonly tickMs?: number;
  readonly webhookAllowNets: readonly string[];
  readonly externalUrl: string;
  readonly deliveryBaseDelayMs?: number;
  readonly notificationRate?: NotificationRate;
  /** Whether the thread projects the read models and delivers (it always evaluates). */
  readonly run: { readonly project: boolean; readonly deliver: boolean };
  /** Errors of the thread's parts, which go on. */
  readonly onError: (error: unknown) => void;
  /**
   * The thread ended after it started (an uncaught error ended its Worker): no alert is
   * evaluated or sent any more, so the process should end and be restarted.
   */
  readonly onFailure: (error: Error) => void;
}

export type ThreadStart = Omit<AlertingThreadOptions, "onError" | "onFailure">;

/** Messages from the Worker. */
export type ThreadMessage =
  | { readonly type: "ready" }
  | { readonly type: "projected"; readonly position: string }
  | { readonly type: "error"; readonly message: string }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "stopped" };

export class AlertingThread {
  readonly #worker: Worker;
  readonly #reached = new ProjectedPosition();
  #stopped?: () => void;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /** Resolves once the Worker's evaluator has its start offsets, so samples accepted from then on are evaluated. */
  static start(options: AlertingThreadOptions): Promise<AlertingThread> {
    const worker = new Worker(new URL("./alerting-thread-worker.ts", import.meta.url), { type: "module" });
    const thread = new AlertingThread(worker);
    const { onError, onFailure, ...start } = options;
    return new Promise((resolve, reject) => {
      let ready = false;
      const failedToStart = (reason: string) => {
        worker.terminate();
        reject(new Error(`alert thread: ${reason}`));
      };
      worker.onmessage = (event: MessageEvent<ThreadMessage>) => {
        const message = event.data;
        switch (message.type) {
          case "ready":
            ready = true;
            resolve(thread);
            break;
          case "projected":
            thread.#reached.advance(BigInt(message.position));
            break;
          case "error":
            onError(message.message);
            break;
          case "failed":
            if (!ready) failedToStart(message.message);
            else onFailure(new Error(`alert thread failed: ${message.message}`));
            break;
          case "stopped":
            thread.#stopped?.();
            break;
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        if (!ready) failedToStart(event.message);
        else onFailure(new Error(`alert thread ended: ${event.message}`));
      };
      const transfer = start.pglite ? [start.pglite] : [];
      worker.postMessage({ type: "start", options: start satisfies ThreadStart }, transfer);
    });
  }

  /** Resolves once the thread's projector has applied every event up to `position`, or after `timeoutMs`. */
  projected(position: Position, timeoutMs = 5_000): Promise<boolean> {
    return this.#reached.projected(position, timeoutMs);
  }

  /** Stops the thread's parts (their last writes land), then ends the Worker. */
  async close(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        this.#stopped = resolve;
        this.#worker.postMessage({ type: "stop" });
      }),
      new Promise((resolve) => timer = setTimeout(resolve, STOP_TIMEOUT_MS)),
    ]);
    clearTimeout(timer);
    this.#worker.terminate();
    this.#reached.release();
  }
}
