/**
 * Per-tenant ingest limits held by the ingest process: each tenant's token bucket
 * (ingest rate) and active series (cardinality), created on the tenant's first
 * request from the defaults and the tenant's overrides.
 *
 * @example
 * const limits = new IngestLimits({ defaults, overrides: { acme: { ingestRate: 1000 } } }, Date.now());
 * limits.rate("acme").take(samples, now);
 * limits.series("acme").admit(def.id, def.metric, now);
 */
import { ActiveSeries } from "../../domain/limits/active-series.ts";
import { TokenBucket } from "../../domain/limits/token-bucket.ts";

export interface TenantLimitSettings {
  /** Samples per second; 0 turns the rate limit off. */
  readonly ingestRate: number;
  readonly ingestBurst: number;
  readonly maxActiveSeries: number;
  readonly maxActiveSeriesPerMetric: number;
  readonly activeSeriesWindowMs: number;
}

export const defaultTenantLimits: TenantLimitSettings = {
  ingestRate: 2_000_000,
  ingestBurst: 4_000_000,
  maxActiveSeries: 2_000_000,
  maxActiveSeriesPerMetric: 1_000_000,
  activeSeriesWindowMs: 3_600_000,
};

export interface IngestLimitOptions {
  readonly defaults: TenantLimitSettings;
  readonly overrides?: Readonly<Record<string, Partial<TenantLimitSettings>>>;
}

export class IngestLimits {
  readonly #options: IngestLimitOptions;
  readonly #buckets = new Map<string, TokenBucket | null>();
  readonly #series = new Map<string, ActiveSeries>();

  constructor(options: IngestLimitOptions) {
    this.#options = options;
  }

  settings(tenant: string): TenantLimitSettings {
    return { ...this.#options.defaults, ...this.#options.overrides?.[tenant] };
  }

  /** The tenant's bucket, or undefined when its rate is not limited. */
  rate(tenant: string, now: number): TokenBucket | undefined {
    let bucket = this.#buckets.get(tenant);
    if (bucket === undefined) {
      const s = this.settings(tenant);
      bucket = s.ingestRate > 0 ? new TokenBucket({ rate: s.ingestRate, burst: s.ingestBurst }, now) : null;
      this.#buckets.set(tenant, bucket);
    }
    return bucket ?? undefined;
  }

  series(tenant: string, now: number): ActiveSeries {
    let active = this.#series.get(tenant);
    if (active === undefined) {
      const s = this.settings(tenant);
      active = new ActiveSeries({
        maxSeries: s.maxActiveSeries,
        maxSeriesPerMetric: s.maxActiveSeriesPerMetric,
        windowMs: s.activeSeriesWindowMs,
      }, now);
      this.#series.set(tenant, active);
    }
    return active;
  }

  /** Tenants that have sent anything, with their active series. */
  tenants(): [string, ActiveSeries][] {
    return [...this.#series];
  }
}
