/**
 * The rules-table projection as a stream: events from the event store, applied one at
 * a time in position order. Each apply runs inside `defer` + `retry`, so a database
 * outage pauses the stream with capped backoff instead of ending it; an event that
 * cannot be decoded (`ValidationError`) is reported and passed over, since retrying
 * cannot fix it. The output is the position reached after each event.
 *
 * @example
 * rulesProjection(from(store.subscribe({ after, signal })), { apply, onError })
 *   .subscribe((position) => reached(position));
 */
import { catchError, concatMap, defer, map, type Observable, of, retry, throwError, timer } from "rxjs";
import { ValidationError } from "../domain/errors.ts";
import type { Position, StoredEvent } from "../domain/ports/event-store.ts";

export interface RulesProjectionOptions {
  readonly apply: (event: StoredEvent) => Promise<void>;
  readonly onError: (error: unknown, event: StoredEvent) => void;
  readonly maxRetryDelayMs?: number;
}

export function rulesProjection(
  events$: Observable<StoredEvent>,
  options: RulesProjectionOptions,
): Observable<Position> {
  const maxDelay = options.maxRetryDelayMs ?? 5_000;
  return events$.pipe(
    concatMap((event) =>
      defer(() => options.apply(event)).pipe(
        retry({
          delay: (error, attempt) => {
            if (error instanceof ValidationError) return throwError(() => error);
            options.onError(error, event);
            return timer(Math.min(maxDelay, 50 * 2 ** attempt));
          },
        }),
        map(() => event.position),
        catchError((error) => {
          options.onError(error, event);
          return of(event.position);
        }),
      )
    ),
  );
}
