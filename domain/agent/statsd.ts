/**
 * StatsD and DogStatsD: parsing datagrams and aggregating them per flush interval.
 *
 * A datagram holds lines `name:value|type[|@rate][|#tag:v,tag2]`; DogStatsD 1.1 allows
 * several values (`name:1:2:3|h`). What one interval of a series gives:
 *
 * | type                      | samples at flush                                                                |
 * | ------------------------- | ------------------------------------------------------------------------------- |
 * | `c` counter               | `name` = sum of value / rate over the interval (a per-interval count)           |
 * | `g` gauge                 | `name` = last value; `+n` / `-n` adjust the last value (kept across intervals)  |
 * | `ms`, `h`, `d` timers     | `name_count`, `name_sum` (weighted by 1 / rate), `name_min`, `name_max`, `name{quantile="0.5"\|"0.9"\|"0.99"}` |
 * | `s` set                   | `name` = distinct values seen                                                   |
 *
 * Names become Prometheus-style (`api.latency` → `api_latency`) and tags labels, as
 * on the Datadog ingest path. A series that got nothing in an interval sends nothing.
 * Quantiles come from `LogSketch` (1% relative error), so memory per series stays
 * bounded however many values arrive. Events (`_e{`) and service checks (`_sc`) are
 * not metrics and are counted as unsupported.
 *
 * @example
 * const agg = new StatsdAggregator();
 * agg.ingest("api.hits:1|c|#route:/a\napi.latency:12|ms");
 * agg.flush() // [{ metric: "api_hits", labels: { route: "/a" }, value: 1 }, …]
 */
import { normalizeLabelName, normalizeMetricName } from "../label-rules.ts";
import { LogSketch } from "../log-sketch.ts";
import type { Labels } from "../series.ts";
import type { AgentSample } from "./native-batch.ts";

export type StatsdType = "c" | "g" | "ms" | "h" | "d" | "s";

export interface StatsdLine {
  readonly name: string;
  readonly type: StatsdType;
  /** Numbers; for sets the raw members; for gauges with a sign, relative. */
  readonly values: readonly string[];
  readonly rate: number;
  readonly labels: Labels;
}

const TYPES = new Set<string>(["c", "g", "ms", "h", "d", "s"]);
export const TIMER_QUANTILES = [0.5, 0.9, 0.99] as const;

/** One line, or the reason it is not a metric line. */
export function parseStatsdLine(line: string): StatsdLine | string {
  if (line.startsWith("_e{") || line.startsWith("_sc|")) return "events and service checks are not metrics";
  const parts = line.split("|");
  const head = parts[0];
  const colon = head.indexOf(":");
  if (colon <= 0) return `no "name:value" in ${JSON.stringify(line.slice(0, 80))}`;
  const type = parts[1];
  if (type === undefined || !TYPES.has(type)) return `unknown type ${JSON.stringify(type ?? "")}`;
  const values = head.slice(colon + 1).split(":");
  if (type !== "s" && values.some((v) => v === "" || !Number.isFinite(Number(v)))) {
    return `value ${JSON.stringify(head.slice(colon + 1))} is not a number`;
  }
  let rate = 1;
  const labels: Record<string, string> = {};
  for (let i = 2; i < parts.length; i++) {
    const part = parts[i];
    if (part.startsWith("@")) {
      rate = Number(part.slice(1));
      if (!(rate > 0 && rate <= 1)) return `sample rate ${JSON.stringify(part)} is not in (0, 1]`;
    } else if (part.startsWith("#")) {
      for (const tag of part.slice(1).split(",")) {
        if (tag === "") continue;
        const c = tag.indexOf(":");
        if (c < 0) labels[normalizeLabelName(tag)] = "true";
        else labels[normalizeLabelName(tag.slice(0, c))] = tag.slice(c + 1);
      }
    }
  }
  return { name: normalizeMetricName(head.slice(0, colon)), type: type as StatsdType, values, rate, labels };
}

interface Series {
  readonly metric: string;
  readonly labels: Labels;
  readonly type: StatsdType;
  touched: boolean;
  value: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  sketch?: LogSketch;
  members?: Set<string>;
}

export class StatsdAggregator {
  readonly #series = new Map<string, Series>();
  #unsupported = 0;
  #dropped = 0;

  /** `maxSeries` bounds memory: lines of further series in one interval are dropped and counted. */
  constructor(private readonly maxSeries = 100_000) {}

  /** Lines that could not be used since the start. */
  get unsupported(): number {
    return this.#unsupported;
  }

  /** Lines dropped since the start because an interval already held `maxSeries` series. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Adds every line of one datagram. */
  ingest(datagram: string): void {
    for (const raw of datagram.split("\n")) {
      const line = raw.trim();
      if (line === "") continue;
      const parsed = parseStatsdLine(line);
      if (typeof parsed === "string") this.#unsupported++;
      else this.add(parsed);
    }
  }

  add(line: StatsdLine): void {
    const s = this.#seriesOf(line);
    if (s === undefined) {
      this.#dropped++;
      return;
    }
    s.touched = true;
    const weight = 1 / line.rate;
    for (const raw of line.values) {
      switch (line.type) {
        case "c":
          s.value += Number(raw) * weight;
          break;
        case "g":
          s.value = raw.startsWith("+") || raw.startsWith("-") ? s.value + Number(raw) : Number(raw);
          break;
        case "ms":
        case "h":
        case "d": {
          const v = Number(raw);
          s.count += weight;
          s.sum += v * weight;
          if (v < s.min) s.min = v;
          if (v > s.max) s.max = v;
          (s.sketch ??= new LogSketch()).add(v, Math.max(1, Math.round(weight)));
          break;
        }
        case "s":
          (s.members ??= new Set()).add(raw);
          break;
        default: {
          const unknown: never = line.type;
          throw new Error(`Unknown StatsD type ${unknown}`);
        }
      }
    }
  }

  /** The interval's samples; counters, timers and sets start over, gauges keep their value. */
  flush(): AgentSample[] {
    const out: AgentSample[] = [];
    for (const [key, s] of this.#series) {
      if (!s.touched) {
        if (s.type !== "g") this.#series.delete(key);
        continue;
      }
      s.touched = false;
      out.push(...samplesOf(s));
      if (s.type !== "g") this.#series.delete(key);
    }
    return out;
  }

  #seriesOf(line: StatsdLine): Series | undefined {
    // Tags in another order are the same series.
    const tags = Object.entries(line.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify([line.type, line.name, tags]);
    let s = this.#series.get(key);
    if (s === undefined) {
      if (this.#series.size >= this.maxSeries) return undefined;
      s = {
        metric: line.name,
        labels: line.labels,
        type: line.type,
        touched: false,
        value: 0,
        count: 0,
        sum: 0,
        min: Infinity,
        max: -Infinity,
      };
      this.#series.set(key, s);
    }
    return s;
  }
}

function samplesOf(s: Series): AgentSample[] {
  const { metric, labels } = s;
  switch (s.type) {
    case "c":
    case "g":
      return [{ metric, labels, value: s.value }];
    case "s":
      return [{ metric, labels, value: s.members?.size ?? 0 }];
    case "ms":
    case "h":
    case "d": {
      const quantiles = s.sketch?.quantiles(TIMER_QUANTILES) ?? [];
      return [
        { metric: `${metric}_count`, labels, value: s.count },
        { metric: `${metric}_sum`, labels, value: s.sum },
        { metric: `${metric}_min`, labels, value: s.min },
        { metric: `${metric}_max`, labels, value: s.max },
        ...TIMER_QUANTILES.map((q, i) => ({
          metric,
          labels: { ...labels, quantile: String(q) },
          value: quantiles[i],
        })),
      ];
    }
    default: {
      const unknown: never = s.type;
      throw new Error(`Unknown StatsD type ${unknown}`);
    }
  }
}
