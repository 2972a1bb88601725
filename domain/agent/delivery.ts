/**
 * What the agent does with Lookout's answer to a batch, and how long it waits before
 * trying again: exponential backoff with full jitter (delay uniform in
 * `[0, min(max, base · 2^attempt))`), or exactly what `Retry-After` asks for.
 *
 * | answer                                  | outcome                                              |
 * | --------------------------------------- | ---------------------------------------------------- |
 * | 2xx                                     | delivered: the batch leaves the queue                |
 * | 408, 425, 429, 5xx, no answer           | retry the same batch (same `Idempotency-Key`)        |
 * | 401, 403                                | retry: a wrong key is fixed by the operator, and the queue keeps the data meanwhile |
 * | any other 4xx (400, 413, 415, 422, …)   | rejected: Lookout will never take it; dropped and counted |
 *
 * @example
 * const outcome = outcomeOf(503); // "retry"
 * const wait = retryDelayMs(attempt, retryAfterMs("2"), Math.random, { baseMs: 500, maxMs: 60_000 });
 */
export type Outcome = "delivered" | "retry" | "rejected";

export function outcomeOf(status: number): Outcome {
  if (status >= 200 && status < 300) return "delivered";
  if (status === 408 || status === 425 || status === 429 || status === 401 || status === 403) return "retry";
  if (status >= 500) return "retry";
  return "rejected";
}

export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The wait before attempt `attempt + 1` (`attempt` counts failures so far, from 0).
 * `random` returns a number in [0, 1).
 */
export function retryDelayMs(
  attempt: number,
  retryAfter: number | undefined,
  random: () => number,
  backoff: Backoff,
): number {
  if (retryAfter !== undefined) return Math.min(retryAfter, backoff.maxMs);
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date (relative to `now`). */
export function retryAfterMs(header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
