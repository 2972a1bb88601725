/**
 * Polls until a condition holds, for tests that wait on another process: the
 * predicate is called every `intervalMs` until it returns something other than
 * `undefined`/`false`, and that value is returned. Past `timeoutMs` it throws with the
 * last value or error seen, so a failing wait says what it was waiting for.
 *
 * @example
 * const lag = await waitFor(async () => (await lagOf(program)) === 0 || undefined, 30_000, {
 *   what: "projection lag 0",
 * });
 */
export interface WaitOptions {
  readonly intervalMs?: number;
  /** Named in the timeout error. */
  readonly what?: string;
}

export async function waitFor<T>(
  predicate: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  options: WaitOptions = {},
): Promise<T> {
  const interval = options.intervalMs ?? 50;
  const deadline = performance.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const value = await predicate();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (performance.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${options.what ?? "a condition"} (last: ${detail})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
