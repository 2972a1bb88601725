/**
 * An RxJS operator like `concatMap` that hands on batches: values that arrive while
 * nothing is being worked on start work at the end of the current turn of the event
 * loop, as one batch (the events of one page a subscription reads arrive a few
 * microtasks apart, and belong together); values that arrive during the work are kept
 * and handed on together when it completes. Latency stays that of one value when values
 * are few, and work per value falls as they pile up.
 *
 * @example
 * events$.pipe(batchWhileBusy((batch) => defer(() => applyInOneTransaction(batch))));
 */
import { clearImmediate, setImmediate } from "node:timers";
import { Observable, type OperatorFunction, type Subscription } from "rxjs";

export function batchWhileBusy<T, R>(work: (batch: T[]) => Observable<R>): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let waiting: T[] = [];
      let working: Subscription | undefined;
      let busy = false;
      let sourceDone = false;
      let scheduled: ReturnType<typeof setImmediate> | undefined;
      const startSoon = () => {
        if (busy || scheduled !== undefined) return;
        scheduled = setImmediate(() => {
          scheduled = undefined;
          startNext();
        });
      };
      const startNext = () => {
        if (busy) return;
        if (waiting.length === 0) {
          if (sourceDone) subscriber.complete();
          return;
        }
        const batch = waiting;
        waiting = [];
        busy = true;
        const started = work(batch).subscribe({
          next: (value) => subscriber.next(value),
          error: (error) => subscriber.error(error),
          complete: () => {
            busy = false;
            working = undefined;
            startNext();
          },
        });
        // Work that completed while subscribing has already moved on.
        if (busy && working === undefined) working = started;
      };
      const upstream = source.subscribe({
        next: (value) => {
          waiting.push(value);
          startSoon();
        },
        error: (error) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          startSoon();
        },
      });
      return () => {
        if (scheduled !== undefined) clearImmediate(scheduled);
        upstream.unsubscribe();
        working?.unsubscribe();
      };
    });
}
