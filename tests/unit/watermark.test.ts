import assert from "node:assert/strict";
import {
  advanceIdle,
  classifyBatch,
  DEFAULT_ALLOWED_LATENESS_MS,
  initialWatermark,
  isLate,
  lateBefore,
  observe,
  type WatermarkPolicy,
  type WatermarkState,
} from "../../domain/watermark.ts";

const MINUTE = 60_000;
/** An hour boundary, so windows in the tables start at T0 + k minutes (or hours). */
const T0 = 1_699_999_200_000;
const s = (seconds: number) => T0 + seconds * 1000;

/** One row: a batch arriving at `now`, or (no batch) an idle tick at `now`. */
interface Step {
  now: number;
  batch?: number[];
  late?: number[];
  watermark: number;
}

function run(steps: readonly Step[], policy: Partial<WatermarkPolicy> = {}): WatermarkState {
  let state = initialWatermark(policy);
  steps.forEach((step, row) => {
    const before = state.watermark;
    if (step.batch) {
      const flags = new Uint8Array(step.batch.length);
      const result = classifyBatch(
        state,
        new Float64Array(step.batch),
        step.batch.length,
        MINUTE,
        step.now,
        flags,
      );
      assert.deepEqual([...flags], step.late, `row ${row}: late flags`);
      assert.equal(result.late, step.late!.filter((f) => f === 1).length, `row ${row}: late count`);
      state = result.state;
    } else {
      state = advanceIdle(state, step.now);
    }
    assert.equal(state.watermark, step.watermark, `row ${row}: watermark`);
    assert.ok(state.watermark >= before, `row ${row}: watermark moved back`);
  });
  return state;
}

Deno.test("initialWatermark: nothing is late, and lateness defaults to 5 minutes", () => {
  const state = initialWatermark();
  assert.equal(DEFAULT_ALLOWED_LATENESS_MS, 300_000);
  assert.deepEqual(state.policy, { allowedLatenessMs: 300_000, idleAfterMs: 300_000 });
  assert.equal(state.watermark, -Infinity);
  assert.equal(isLate(state, 0, MINUTE), false);
  assert.equal(advanceIdle(state, s(100_000)), state, "a partition never seen does not idle-advance");
  assert.deepEqual(initialWatermark({ allowedLatenessMs: 1000 }).policy, {
    allowedLatenessMs: 1000,
    idleAfterMs: 1000,
  });
});

Deno.test("active partition: out-of-order samples within lateness are on time, closed windows late", () => {
  run([
    // given samples in the first minute
    { now: s(51), batch: [s(10), s(50)], late: [0, 0], watermark: s(50 - 300) },
    // out of order by 340 s but its window [T0, T0+60s) is still open: on time
    { now: s(361), batch: [s(360), s(20)], late: [0, 0], watermark: s(60) },
    // window [T0, T0+60s) is now closed: its last millisecond is late, the next window is not
    { now: s(401), batch: [s(59.999), s(60), s(400)], late: [1, 0, 0], watermark: s(100) },
    // an older batch does not move the watermark back
    { now: s(402), batch: [s(100)], late: [0], watermark: s(100) },
    // 35 s behind the watermark, but window [T0+60s, T0+120s) is open until it reaches T0+120s
    { now: s(403), batch: [s(65)], late: [0], watermark: s(100) },
  ]);
});

Deno.test("a batch is classified against the watermark from before it", () => {
  run([
    { now: s(101), batch: [s(100)], late: [0], watermark: s(-200) },
    // the batch's own max (T0+1000s) would close T0+70s's window, yet it is on time here
    { now: s(1001), batch: [s(1000), s(70)], late: [0, 0], watermark: s(700) },
    // the same timestamp in the next batch is late
    { now: s(1002), batch: [s(70)], late: [1], watermark: s(700) },
  ]);
});

Deno.test("idle partition: the watermark follows processing time after idleAfterMs, without a jump", () => {
  run([
    { now: s(2), batch: [s(0)], late: [0], watermark: s(-300) },
    // not idle yet: 299.999 s since the last batch
    { now: s(301.999), watermark: s(-300) },
    // idle from here: now − lateness − idleAfter = T0 − 298 s, 2 s (the arrival delay) ahead
    { now: s(302), watermark: s(-298) },
    { now: s(902), watermark: s(302) },
    // windows before T0+300s are closed by the idle rule alone
    { now: s(903), batch: [s(250), s(301)], late: [1, 0], watermark: s(302) },
    // the batch made the partition active again
    { now: s(1000), watermark: s(302) },
    { now: s(1203), watermark: s(603) },
  ]);
});

Deno.test("idle advance never moves the watermark back, and returns the same state when idle rule is behind", () => {
  const state = run([
    { now: s(3600), batch: [s(3600)], late: [0], watermark: s(3300) },
    // idle, but the idle rule (now − 300 s − 300 s) only reaches the watermark
    { now: s(3900), watermark: s(3300) },
  ]);
  assert.equal(advanceIdle(state, s(3900)), state);
});

Deno.test("custom policy: zero lateness and a short idle timeout", () => {
  run([
    { now: s(62), batch: [s(59), s(61)], late: [0, 0], watermark: s(61) },
    { now: s(62.5), batch: [s(59), s(60), s(61)], late: [1, 0, 0], watermark: s(61) },
    { now: s(63.499), watermark: s(61) },
    { now: s(130), watermark: s(129) },
    { now: s(131), batch: [s(119), s(120)], late: [1, 0], watermark: s(129) },
  ], { allowedLatenessMs: 0, idleAfterMs: 1000 });
});

Deno.test("a sender's fast clock advances the watermark only up to processing time", () => {
  run([
    // event time 9 minutes ahead of processing time: the watermark stops at now − lateness
    { now: s(1000), batch: [s(1540)], late: [0], watermark: s(700) },
    // an on-time sample from another sender is not late
    { now: s(1001), batch: [s(1000)], late: [0], watermark: s(700) },
  ]);
});

Deno.test("empty batches and non-finite timestamps change nothing, not even the idle clock", () => {
  // given
  let state =
    classifyBatch(initialWatermark(), new Float64Array([s(0)]), 1, MINUTE, s(0), new Uint8Array(1)).state;
  // when an empty batch and a NaN-only observation arrive before the partition turns idle
  const empty = classifyBatch(state, new Float64Array(4), 0, MINUTE, s(299), new Uint8Array(4));
  assert.equal(empty.late, 0);
  assert.equal(empty.state, state);
  assert.equal(observe(state, NaN, s(299)), state);
  assert.equal(observe(state, Infinity, s(299)), state);
  state = advanceIdle(empty.state, s(300));
  // then the partition still idles from the last real batch
  assert.equal(state.watermark, s(-300));
  assert.equal(state.lastSeenAt, s(0));
});

Deno.test("classifyBatch: only the first `length` slots are read and written", () => {
  const state = observe(initialWatermark(), s(600), s(600));
  const out = new Uint8Array([9, 9, 9, 9]);
  const result = classifyBatch(
    state,
    new Float64Array([s(0), s(500), s(0), s(5000)]),
    2,
    MINUTE,
    s(601),
    out,
  );
  assert.deepEqual([...out], [1, 0, 9, 9]);
  assert.equal(result.late, 1);
  assert.equal(result.state.maxEventTime, s(600), "the unread s(5000) is not observed");
});

Deno.test("isLate: a window closes exactly when the watermark reaches its end", () => {
  const steps: [watermark: number, ts: number, windowMs: number, late: boolean][] = [
    [s(60), s(59.999), MINUTE, true],
    [s(60), s(0), MINUTE, true],
    [s(60), s(60), MINUTE, false],
    [s(59.999), s(0), MINUTE, false],
    [s(3600), s(59), MINUTE, true],
    [s(3599.999), s(59), 3_600_000, false],
    [s(3600), s(3599.999), 3_600_000, true],
  ];
  for (const [watermark, ts, windowMs, late] of steps) {
    // given a watermark reached through observe with zero lateness
    const state = observe(initialWatermark({ allowedLatenessMs: 0 }), watermark, 0);
    assert.equal(state.watermark, watermark);
    assert.equal(
      isLate(state, ts, windowMs),
      late,
      `watermark ${watermark - T0}, ts ${ts - T0}, window ${windowMs}`,
    );
  }
  assert.equal(lateBefore(observe(initialWatermark({ allowedLatenessMs: 0 }), s(119), 0), MINUTE), s(60));
});

Deno.test("random batches and idle ticks: watermark never regresses; flags match the window rule", () => {
  let seed = 424242;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  for (let workload = 0; workload < 50; workload++) {
    let state = initialWatermark({ allowedLatenessMs: Math.floor(random() * 600) * 1000 });
    let now = T0;
    for (let step = 0; step < 100; step++) {
      now += Math.floor(random() * 400_000);
      const before = state;
      if (random() < 0.3) {
        state = advanceIdle(state, now);
      } else {
        const timestamps = Float64Array.from(
          { length: 1 + Math.floor(random() * 20) },
          () => now - Math.floor(random() * 900_000),
        );
        const flags = new Uint8Array(timestamps.length);
        const result = classifyBatch(state, timestamps, timestamps.length, MINUTE, now, flags);
        timestamps.forEach((ts, i) => {
          const windowEnd = Math.floor((ts - T0) / MINUTE) * MINUTE + T0 + MINUTE;
          assert.equal(
            flags[i],
            windowEnd <= before.watermark ? 1 : 0,
            `ts ${ts} at watermark ${before.watermark}`,
          );
        });
        state = result.state;
      }
      assert.ok(state.watermark >= before.watermark, "watermark moved back");
      assert.ok(state.watermark <= Math.max(state.maxEventTime, now) - state.policy.allowedLatenessMs);
    }
  }
});
