/**
 * An RxJS operator like `concatMap` that hands on batches: a value that arrives while
 * nothing is being worked on starts work on it at once; values that arrive meanwhile
 * are kept and handed on together when that work completes. Latency stays that of one
 * value when values are few, and work per value falls as they pile up.
 *
 * @example
 * events$.pipe(batchWhileBusy((batch) => defer(() => applyInOneTransaction(batch))));
 */
import { Observable, type OperatorFunction, type Subscription } from "rxjs";

export function batchWhileBusy<T, R>(work: (batch: T[]) => Observable<R>): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let waiting: T[] = [];
      let working: Subscription | undefined;
      let busy = false;
      let sourceDone = false;
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
          startNext();
        },
        error: (error) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          startNext();
        },
      });
      return () => {
        upstream.unsubscribe();
        working?.unsubscribe();
      };
    });
}
