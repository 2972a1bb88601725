/**
 * A token bucket for a tenant's ingest rate, in samples: `rate` tokens are added per
 * second up to `burst`; a request takes as many tokens as it has samples, or is
 * refused with how long until that many will be there. Time comes in as data.
 *
 * `precheck` lets a server refuse before it reads and decodes a body: after a refusal
 * of n samples, anything is refused until n tokens are there again, on the guess that
 * the client's next request is about as large.
 *
 * A request larger than `burst` can never fit; it is refused with a wait of 0 and a
 * reason, so the client splits it instead of retrying forever.
 *
 * @example
 * const bucket = new TokenBucket({ rate: 100_000, burst: 200_000 }, now);
 * const verdict = bucket.take(10_000, now); // { ok: true } | { ok: false, retryAfterMs, reason }
 */
export interface RateLimit {
  /** Samples per second. */
  readonly rate: number;
  /** Samples that may arrive at once after a quiet spell. */
  readonly burst: number;
}

export type TakeVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly retryAfterMs: number; readonly reason: string };

export class TokenBucket {
  readonly limit: RateLimit;
  #tokens: number;
  #at: number;
  #lastRefused = 0;

  constructor(limit: RateLimit, now: number) {
    this.limit = limit;
    this.#tokens = limit.burst;
    this.#at = now;
  }

  /** Tokens available at `now` (refilled, not taken). */
  available(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** Refuses before decoding while the tokens are short of the last refused request. */
  precheck(now: number): TakeVerdict {
    this.#refill(now);
    if (this.#tokens >= Math.max(1, this.#lastRefused)) return { ok: true };
    const { rate } = this.limit;
    const retryAfterMs = Math.ceil(((Math.max(1, this.#lastRefused) - this.#tokens) / rate) * 1000);
    return {
      ok: false,
      retryAfterMs,
      reason: `ingest rate over ${rate} samples/s; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
    };
  }

  take(samples: number, now: number): TakeVerdict {
    this.#refill(now);
    if (samples <= this.#tokens) {
      this.#tokens -= samples;
      this.#lastRefused = 0;
      return { ok: true };
    }
    this.#lastRefused = Math.min(samples, this.limit.burst);
    const { rate, burst } = this.limit;
    if (samples > burst) {
      return {
        ok: false,
        retryAfterMs: 0,
        reason: `the request has ${samples} samples, more than the burst of ${burst}; split it`,
      };
    }
    const retryAfterMs = Math.ceil(((samples - this.#tokens) / rate) * 1000);
    return {
      ok: false,
      retryAfterMs,
      reason: `ingest rate over ${rate} samples/s (burst ${burst}); retry in ${
        Math.ceil(retryAfterMs / 1000)
      } s`,
    };
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.limit.burst, this.#tokens + ((now - this.#at) / 1000) * this.limit.rate);
      this.#at = now;
    }
  }
}
