/**
 * Decodes a Datadog `POST /api/v1/series` JSON body, what older agents and the v1
 * API clients send: `{"series":[{"metric","points":[[ts,value]],"host","tags","type"}]}`.
 *
 * Names and tags map as for v2 (`datadog-v2.ts`): `system.load.1` → `system_load_1`,
 * tag `k:v` → label `k="v"`, a bare tag → `"true"`; `host` and `device` become the
 * labels of those names, as a v2 resource would. Point timestamps are seconds; `type`
 * must be `gauge`, `rate` or `count` when present and does not change what is stored.
 * `interval` is ignored.
 *
 * @example
 * const result = decodeDatadogV1(JSON.parse(text), ctx);
 */
import {
  DecodeCollector,
  type DecodeContext,
  type DecodeResult,
  type SampleSource,
} from "./decode-context.ts";
import { labelsOf, NormalisedNames, seriesArray } from "./datadog-v2.ts";

const TYPES = new Set([undefined, null, "gauge", "rate", "count"]);

export function decodeDatadogV1(json: unknown, ctx: DecodeContext): DecodeResult {
  const series = seriesArray(json);
  const collector = new DecodeCollector(ctx, series.length);
  const points = new PairPoints();
  const names = new NormalisedNames();
  for (let i = 0; i < series.length; i++) decodeOne(series[i], i, collector, points, names);
  return collector.result();
}

function decodeOne(
  entry: unknown,
  index: number,
  collector: DecodeCollector,
  points: PairPoints,
  names: NormalisedNames,
): void {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    return collector.rejectSeries(index, "series is not a JSON object");
  }
  const { metric, type, host, device, tags } = entry as Record<string, unknown>;
  const sent = (entry as { points?: unknown }).points;
  const count = Array.isArray(sent) ? sent.length : 0;
  if (typeof metric !== "string") {
    return collector.rejectSeries(index, '"metric" is missing or not a string', undefined, count);
  }
  if (!Array.isArray(sent)) {
    return collector.rejectSeries(index, '"points" is missing or not an array', metric);
  }
  if (!TYPES.has(type as string)) {
    const reason = `"type" ${JSON.stringify(type)} is not "gauge", "rate" or "count"`;
    return collector.rejectSeries(index, reason, metric, count);
  }
  for (const [field, value] of [["host", host], ["device", device]] as const) {
    if (value !== undefined && value !== null && typeof value !== "string") {
      return collector.rejectSeries(index, `"${field}" is not a string`, metric, count);
    }
  }
  points.of(sent);
  const resolve = () => {
    const resources = [];
    if (typeof host === "string" && host !== "") resources.push({ type: "host", name: host });
    if (typeof device === "string" && device !== "") resources.push({ type: "device", name: device });
    const labels = labelsOf(tags, resources, names);
    return typeof labels === "string"
      ? { metric, rejection: labels }
      : collector.resolve(names.metric(metric), labels);
  };
  const cache = collector.seriesCache;
  if (cache === undefined) return collector.addKnown(index, resolve(), points);
  // Five elements, where a v2 key has three: the two formats' keys never meet.
  const key = JSON.stringify([metric, tags, host, device, 1]);
  collector.addKnown(index, cache.get(key) ?? cache.set(key, resolve()), points);
}

/** `[[seconds, value], …]`, re-pointed per series. */
class PairPoints implements SampleSource {
  #points: unknown[] = [];
  count = 0;

  of(points: unknown[]): void {
    this.#points = points;
    this.count = points.length;
  }

  timestampAt(i: number): number {
    const point = this.#points[i];
    const seconds = Array.isArray(point) ? point[0] : undefined;
    return typeof seconds === "number" && Number.isFinite(seconds) ? Math.round(seconds * 1000) : NaN;
  }

  valueAt(i: number): number | undefined {
    const point = this.#points[i];
    const value = Array.isArray(point) ? point[1] : undefined;
    return typeof value === "number" ? value : undefined;
  }
}
