/**
 * The rules-table projection as a stream: events from the event store, applied in
 * position order. Each apply runs inside `defer` + `retry`, so a database outage pauses
 * the stream with capped backoff instead of ending it; an event that cannot be decoded
 * (`ValidationError`) is reported and passed over, since retrying cannot fix it. The
 * output is the position reached after each apply.
 *
 * With `applyMany`, the events that arrive while an apply is running are applied next
 * as one batch (one transaction): an incident storm's thousand events cost a few
 * transactions, not a thousand. A batch that fails is applied again event by event, so
 * a bad event is still passed over alone and an outage still pauses the stream.
 *
 * @example
 * rulesProjection(from(store.subscribe({ after, signal })), { apply, applyMany, onError })
 *   .subscribe((position) => reached(position));
 */
import { catchError, concatMap, defer, from, map, type Observable, of, retry, throwError, timer } from "rxjs";
import { ValidationError } from "../domain/errors.ts";
import type { Position, StoredEvent } from "../domain/ports/event-store.ts";
import { batchWhileBusy } from "./batch-while-busy.ts";

export interface RulesProjectionOptions {
  readonly apply: (event: StoredEvent) => Promise<void>;
  /** Applies several events in one go, all or none. */
  readonly applyMany?: (events: readonly StoredEvent[]) => Promise<void>;
  readonly onError: (error: unknown, event: StoredEvent) => void;
  readonly maxRetryDelayMs?: number;
}

export function rulesProjection(
  events$: Observable<StoredEvent>,
  options: RulesProjectionOptions,
): Observable<Position> {
  const maxDelay = options.maxRetryDelayMs ?? 5_000;
  const one = (event: StoredEvent) =>
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
    );
  const applyMany = options.applyMany;
  if (applyMany === undefined) return events$.pipe(concatMap(one));
  return events$.pipe(
    batchWhileBusy((batch) =>
      batch.length === 1 ? one(batch[0]) : defer(() => applyMany(batch)).pipe(
        map(() => batch[batch.length - 1].position),
        catchError(() => from(batch).pipe(concatMap(one))),
      )
    ),
  );
}
