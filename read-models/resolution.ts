/**
 * Query routing: which table answers a query, at which step, and where the recent
 * raw tail starts.
 *
 * `auto` takes the coarsest tier whose bucket divides the step (so a rollup answers
 * exactly what raw would, percentiles within the sketch's error), and moves to a
 * coarser tier when the range starts before the finer tier's retention. Buckets that
 * may still change (those not older than the allowed lateness) are answered from raw
 * when raw covers them, so a dashboard never shows a rollup that lags the raw table.
 *
 * Output buckets are aligned to multiples of the step since the epoch; `from` is
 * rounded down to a step boundary.
 *
 * @example
 * route({ from, to, step: 300_000, resolution: "auto" }, { now, retention, allowedLatenessMs })
 * // → { tier: "1m", step: 300000, from, to, rawFrom: … }
 */
import { ValidationError } from "../domain/errors.ts";
import type { RetentionDays } from "./schema.ts";

export type Tier = "raw" | "1m" | "1h";
export type Resolution = "auto" | Tier;

const DAY_MS = 86_400_000;
export const TIER_MS: Readonly<Record<Tier, number>> = { raw: 0, "1m": 60_000, "1h": 3_600_000 };

export interface RouteInput {
  readonly from: number;
  readonly to: number;
  readonly step: number;
  readonly resolution: Resolution;
}

export interface RouteContext {
  readonly now: number;
  readonly retention: RetentionDays;
  readonly allowedLatenessMs: number;
}

export interface Route {
  readonly tier: Tier;
  readonly step: number;
  readonly from: number;
  readonly to: number;
  /** Buckets at or after this instant come from raw; undefined when nothing is stitched. */
  readonly rawFrom?: number;
}

function retainedSince(tier: Tier, ctx: RouteContext): number {
  const days = tier === "raw"
    ? ctx.retention.rawDays
    : tier === "1m"
    ? ctx.retention.rollup1mDays
    : ctx.retention.rollup1hDays;
  return ctx.now - days * DAY_MS;
}

export function route(input: RouteInput, ctx: RouteContext): Route {
  if (!(input.step > 0)) throw new ValidationError("Cannot run query: step must be a positive number of ms");
  if (!(input.to > input.from)) throw new ValidationError("Cannot run query: to must be after from");
  if (input.resolution !== "auto") {
    const bucket = TIER_MS[input.resolution];
    if (bucket > 0 && input.step % bucket !== 0) {
      throw new ValidationError(
        `Cannot run query at resolution ${input.resolution}: step ${input.step} ms is not a multiple of ${bucket} ms`,
      );
    }
    return { tier: input.resolution, step: input.step, ...aligned(input.from, input.to, input.step) };
  }
  const tiers: Tier[] = ["1h", "1m", "raw"];
  let tier: Tier = tiers.find((t) => TIER_MS[t] === 0 || input.step % TIER_MS[t] === 0)!;
  while (tier !== "1h" && input.from < retainedSince(tier, ctx)) tier = tier === "raw" ? "1m" : "1h";
  const bucket = TIER_MS[tier];
  const step = bucket === 0 ? input.step : Math.ceil(input.step / bucket) * bucket;
  const range = aligned(input.from, input.to, step);
  if (tier === "raw") return { tier, step, ...range };
  const open = Math.floor((ctx.now - ctx.allowedLatenessMs) / step) * step;
  const rawFrom = Math.max(open, range.from);
  if (rawFrom >= range.to || rawFrom < retainedSince("raw", ctx)) return { tier, step, ...range };
  return { tier, step, ...range, rawFrom };
}

function aligned(from: number, to: number, step: number): { from: number; to: number } {
  return { from: Math.floor(from / step) * step, to };
}
