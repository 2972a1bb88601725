/**
 * Event-time watermarks with allowed lateness, one state per log partition. The
 * watermark says up to which event time the partition's windows are complete: a window
 * [start, start + windowMs) is closed once `watermark >= start + windowMs`, and a sample
 * whose window is closed is late (kept in the late-samples table instead of the rollup).
 *
 * Rules:
 * - Active: `watermark = maxEventTime − allowedLatenessMs`, so samples up to the allowed
 *   lateness behind the newest one seen are still on time, in any order.
 * - Idle: once no batch has arrived for `idleAfterMs` of processing time, the watermark
 *   is at least `now − allowedLatenessMs − idleAfterMs`. At the moment the partition turns
 *   idle that is `lastSeenAt − allowedLatenessMs`, where the active rule would stand if
 *   the last sample had been stamped when it arrived, so the watermark carries on without
 *   a jump and then follows processing time. A partition that has never seen a batch does
 *   not advance: after a restart its state is rebuilt from replayed batches, and an early
 *   idle advance would mark that replayed data late.
 * - The watermark never moves backwards; empty batches and non-finite timestamps change
 *   nothing, not even the idle clock.
 * - A batch is classified against the watermark from before it, so its own newest sample
 *   cannot make its other samples late.
 * - Event time ahead of processing time advances the watermark only up to `now`: a
 *   sender whose clock runs fast cannot close windows that on-time senders still fill.
 *
 * Everything is a function of its inputs: processing time comes in as `now`.
 *
 * @example
 * let wm = initialWatermark({ allowedLatenessMs: 300_000 });
 * wm = advanceIdle(wm, now);
 * const flags = new Uint8Array(batch.length);
 * const result = classifyBatch(wm, batch.timestamps, batch.length, 60_000, now, flags);
 * wm = result.state; // result.late samples flagged 1 go to the late-samples table
 */
import { bucketStart } from "./rollup.ts";

export const DEFAULT_ALLOWED_LATENESS_MS = 300_000;

export interface WatermarkPolicy {
  readonly allowedLatenessMs: number;
  /** Processing time without a batch after which the partition counts as idle. */
  readonly idleAfterMs: number;
}

export interface WatermarkState {
  /** Greatest event time observed; −Infinity before the first batch. */
  readonly maxEventTime: number;
  /** Windows ending at or before this event time are closed; −Infinity at first. */
  readonly watermark: number;
  /** Processing time of the last non-empty batch; −Infinity before the first. */
  readonly lastSeenAt: number;
  readonly policy: WatermarkPolicy;
}

export interface ClassifiedBatch {
  /** How many samples were flagged late. */
  readonly late: number;
  /** The state after observing the batch. */
  readonly state: WatermarkState;
}

/** A partition's state before any batch; `idleAfterMs` defaults to the allowed lateness. */
export function initialWatermark(policy: Partial<WatermarkPolicy> = {}): WatermarkState {
  const allowedLatenessMs = policy.allowedLatenessMs ?? DEFAULT_ALLOWED_LATENESS_MS;
  return {
    maxEventTime: -Infinity,
    watermark: -Infinity,
    lastSeenAt: -Infinity,
    policy: { allowedLatenessMs, idleAfterMs: policy.idleAfterMs ?? allowedLatenessMs },
  };
}

/** The state after a batch whose greatest event time is `maxTs` arrived at `now`. */
export function observe(state: WatermarkState, maxTs: number, now: number): WatermarkState {
  if (!Number.isFinite(maxTs)) return state;
  const maxEventTime = Math.max(state.maxEventTime, maxTs);
  return {
    maxEventTime,
    watermark: Math.max(state.watermark, maxEventTime - state.policy.allowedLatenessMs),
    lastSeenAt: Math.max(state.lastSeenAt, now),
    policy: state.policy,
  };
}

/** Applies the idle rule at processing time `now`; returns `state` itself if nothing moves. */
export function advanceIdle(state: WatermarkState, now: number): WatermarkState {
  const { allowedLatenessMs, idleAfterMs } = state.policy;
  if (state.lastSeenAt === -Infinity || now - state.lastSeenAt < idleAfterMs) return state;
  const idleWatermark = now - allowedLatenessMs - idleAfterMs;
  if (idleWatermark <= state.watermark) return state;
  return { ...state, watermark: idleWatermark };
}

/**
 * Samples with an event time below this are late for windows of `windowMs`: it is the
 * start of the window holding the watermark, the first window not yet closed.
 */
export function lateBefore(state: WatermarkState, windowMs: number): number {
  return Number.isFinite(state.watermark) ? bucketStart(state.watermark, windowMs) : state.watermark;
}

/** Whether the epoch-aligned window of `windowMs` holding `ts` is closed. */
export function isLate(state: WatermarkState, ts: number, windowMs: number): boolean {
  return ts < lateBefore(state, windowMs);
}

/**
 * Flags each of the first `length` timestamps in `out` (1 = late, 0 = on time) against
 * the watermark before this batch, then observes the batch at `now`.
 */
export function classifyBatch(
  state: WatermarkState,
  timestamps: Float64Array,
  length: number,
  windowMs: number,
  now: number,
  out: Uint8Array,
): ClassifiedBatch {
  const threshold = lateBefore(state, windowMs);
  let late = 0;
  let maxTs = -Infinity;
  for (let i = 0; i < length; i++) {
    const ts = timestamps[i];
    const flag = ts < threshold ? 1 : 0;
    out[i] = flag;
    late += flag;
    if (ts > maxTs) maxTs = ts;
  }
  // A sample stamped ahead of processing time (a fast clock) must not close windows
  // that real-time samples still fill.
  return { late, state: observe(state, Math.min(maxTs, now), now) };
}
