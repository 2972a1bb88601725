/**
 * A subscription over a store that can be read from a position: reads the backlog in
 * pages, then waits for an in-process wake-up (an append through this process) or the
 * poll interval (appends by other processes; none where no other process can write)
 * and reads again. Positions only grow, so
 * resuming after the last delivered position neither skips nor repeats an event.
 */
import type { Position, StoredEvent } from "../../domain/ports/event-store.ts";

export interface PollingSubscriptionOptions {
  readonly after?: Position;
  readonly signal: AbortSignal;
  readonly read: (after: Position | undefined) => Promise<StoredEvent[]>;
  readonly wakeups: EventTarget;
  readonly pollIntervalMs: number;
}

export async function* pollingSubscription(options: PollingSubscriptionOptions): AsyncGenerator<StoredEvent> {
  const { signal, wakeups } = options;
  let after = options.after;
  while (!signal.aborted) {
    // Listen before reading, so an append that lands during the read still wakes us.
    const woken = nextWakeup(wakeups, signal, options.pollIntervalMs);
    const events = await options.read(after);
    for (const event of events) {
      if (signal.aborted) return;
      yield event;
      after = event.position;
    }
    if (events.length === 0) await woken.promise;
    woken.cancel();
  }
}

function nextWakeup(
  target: EventTarget,
  signal: AbortSignal,
  ms: number,
): { promise: Promise<void>; cancel: () => void } {
  let cancel = () => {};
  const promise = new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      target.removeEventListener("append", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    // A timer of Infinity would fire at once: no timer, only wake-ups.
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    target.addEventListener("append", done);
    signal.addEventListener("abort", done);
    cancel = done;
  });
  return { promise, cancel };
}
