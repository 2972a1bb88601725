/**
 * Generated metrics for the PromQL differential test, the same for every engine:
 * counters with resets (`http_requests_total`), gauges (`cpu_usage`, `mem_limit`),
 * classic histograms (`request_seconds_bucket` with `le`), one sample every 15 s
 * with a few seconds of jitter, a series that stops half way (lookback) and one that
 * starts late, and steady counters on the exact 15 s grid (`steady_total`). Values are integers or short binary fractions, so both engines read
 * exactly the same numbers.
 */
import { seededRandom } from "./seeded-random.ts";

export interface GeneratedSeries {
  readonly metric: Record<string, string>;
  readonly timestamps: number[];
  readonly values: number[];
}

export const SCRAPE_MS = 15_000;

export function promqlWorkload(seed: number, start: number, end: number): GeneratedSeries[] {
  const random = seededRandom(seed);
  const out: GeneratedSeries[] = [];
  const times = (from = start, to = end) => {
    const ts: number[] = [];
    for (let t = from; t < to; t += SCRAPE_MS) ts.push(t + random.int(0, 4) * 1000);
    return ts;
  };
  for (const job of ["api", "web"]) {
    for (const instance of ["i1", "i2", "i3"]) {
      for (const code of ["200", "500"]) {
        const ts = times();
        let v = random.int(0, 100);
        const values = ts.map(() => {
          v = random.next() < 0.01 ? random.int(0, 5) : v + random.int(0, code === "200" ? 40 : 4);
          return v;
        });
        out.push({
          metric: { __name__: "http_requests_total", job, instance, code },
          timestamps: ts,
          values,
        });
      }
    }
  }
  for (const region of ["eu", "us", "ap"]) {
    for (const host of ["h1", "h2"]) {
      const ts = times();
      out.push({
        metric: { __name__: "cpu_usage", region, host },
        timestamps: ts,
        values: ts.map(() => random.int(0, 400) / 4),
      });
    }
    const ts = times();
    out.push({
      metric: { __name__: "mem_limit", region },
      timestamps: ts,
      values: ts.map(() => 50 + random.int(0, 8)),
    });
  }
  const bounds = ["0.1", "0.5", "1", "5", "+Inf"];
  for (const job of ["api", "web"]) {
    const ts = times();
    const counts = bounds.map(() => 0);
    const series = bounds.map(() => [] as number[]);
    for (let i = 0; i < ts.length; i++) {
      let below = 0;
      bounds.forEach((_, b) => {
        below += random.int(0, 6);
        counts[b] += below;
        series[b].push(counts[b]);
      });
    }
    bounds.forEach((le, b) =>
      out.push({ metric: { __name__: "request_seconds_bucket", job, le }, timestamps: ts, values: series[b] })
    );
  }
  for (const [job, step] of [["api", 3], ["web", 7]] as const) {
    const ts: number[] = [];
    for (let t = start; t < end; t += SCRAPE_MS) ts.push(t);
    out.push({
      metric: { __name__: "steady_total", job },
      timestamps: ts,
      values: ts.map((_, i) => 1000 + i * step),
    });
  }
  const middle = start + Math.floor((end - start) / 2 / SCRAPE_MS) * SCRAPE_MS;
  const stops = times(start, middle);
  out.push({
    metric: { __name__: "batch_progress", host: "h9" },
    timestamps: stops,
    values: stops.map((_, i) => i),
  });
  const late = times(middle, end);
  out.push({
    metric: { __name__: "batch_progress", host: "h8" },
    timestamps: late,
    values: late.map((_, i) => 2 * i),
  });
  return out;
}
