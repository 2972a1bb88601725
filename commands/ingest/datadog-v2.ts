/**
 * Decodes a Datadog `POST /api/v2/series` JSON body into a sample batch.
 *
 * Mapping onto Prometheus-style series:
 * - metric: `normalizeMetricName`, so `system.load.1` becomes `system_load_1`;
 * - tag `k:v`: split at the first colon, label `normalizeLabelName(k)` = `v`
 *   (`url:http://x` gives url="http://x"); values are kept as sent, case included;
 * - tag without a colon (`canary`): label `normalizeLabelName(tag)` = `"true"`;
 * - resource `{"type":"host","name":"web-1"}`: label `normalizeLabelName(type)` = name,
 *   so host="web-1";
 * - the same label with two different values (`env:a` and `env:b`, or a tag and a
 *   resource that normalise to one name) rejects the series, naming the label; the
 *   same pair twice is fine;
 * - point timestamps are seconds, integer or fractional, stored as
 *   `Math.round(ts * 1000)` ms;
 * - `type` must be 0 (unspecified), 1 (count), 2 (rate) or 3 (gauge) when present,
 *   and does not change what is stored: values are kept as sent, so counts stay
 *   per-interval deltas and rates stay per-second, as Datadog already reports them;
 * - `unit`, `interval`, `source_type_name` and `metadata` are ignored.
 *
 * A body without a `series` array throws `ValidationError`; anything wrong inside one
 * series rejects only that series, and a point with a null or non-numeric value only
 * that point (`invalid_value`).
 *
 * @example
 * const result = decodeDatadogV2(JSON.parse(text), ctx);
 * result.batch.series[0].metric // "system_load_1"
 */
import { ValidationError } from "../../domain/errors.ts";
import { normalizeLabelName, normalizeMetricName } from "../../domain/label-rules.ts";
import type { Labels } from "../../domain/series.ts";
import {
  DecodeCollector,
  type DecodeContext,
  type DecodeResult,
  type SampleSource,
} from "./decode-context.ts";
import type { KnownSeries } from "./series-cache.ts";

export function decodeDatadogV2(json: unknown, ctx: DecodeContext): DecodeResult {
  const series = seriesArray(json);
  const collector = new DecodeCollector(ctx, series.length);
  const points = new DatadogPoints();
  const names = new NormalisedNames();
  for (let i = 0; i < series.length; i++) decodeOne(series[i], i, collector, points, names);
  return collector.result();
}

/** The `series` array of a v1 or v2 body; throws `ValidationError` when there is none. */
export function seriesArray(json: unknown): unknown[] {
  const series = isRecord(json) ? json.series : undefined;
  if (!Array.isArray(series)) {
    throw new ValidationError(
      'Cannot ingest Datadog series: the body must be a JSON object with a "series" array',
    );
  }
  return series;
}

function decodeOne(
  entry: unknown,
  index: number,
  collector: DecodeCollector,
  points: DatadogPoints,
  names: NormalisedNames,
): void {
  if (!isRecord(entry)) return collector.rejectSeries(index, "series is not a JSON object");
  const { metric, type } = entry;
  const sent = entry.points;
  const count = Array.isArray(sent) ? sent.length : 0;
  if (typeof metric !== "string") {
    return collector.rejectSeries(index, '"metric" is missing or not a string', undefined, count);
  }
  if (!Array.isArray(sent)) {
    return collector.rejectSeries(index, '"points" is missing or not an array', metric);
  }
  if (type !== undefined && type !== 0 && type !== 1 && type !== 2 && type !== 3) {
    const reason = `"type" ${JSON.stringify(type)} is not 0 (unspecified), 1 (count), 2 (rate) or 3 (gauge)`;
    return collector.rejectSeries(index, reason, metric, count);
  }
  points.of(sent);
  const cache = collector.seriesCache;
  if (cache === undefined) {
    const labels = labelsOf(entry.tags, entry.resources, names);
    if (typeof labels === "string") return collector.rejectSeries(index, labels, metric, count);
    return collector.addSeries(index, names.metric(metric), labels, points);
  }
  // The key spells out metric, tags and resources unambiguously; the JSON text of
  // values that just came out of JSON.parse cannot fail.
  const key = JSON.stringify([metric, entry.tags, entry.resources]);
  let known: KnownSeries | undefined = cache.get(key);
  if (known === undefined) {
    const labels = labelsOf(entry.tags, entry.resources, names);
    known = cache.set(
      key,
      typeof labels === "string"
        ? { metric, rejection: labels }
        : collector.resolve(names.metric(metric), labels),
    );
  }
  collector.addKnown(index, known, points);
}

/** The series' labels, or the reason they cannot be built (also for v1 series). */
export function labelsOf(tags: unknown, resources: unknown, names: NormalisedNames): Labels | string {
  const labels: Record<string, string> = {};
  if (tags !== undefined && tags !== null) {
    if (!Array.isArray(tags)) return '"tags" is not an array of strings';
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i];
      if (typeof tag !== "string") return `tag ${i} is not a string`;
      const colon = tag.indexOf(":");
      const conflict = colon < 0
        ? setLabel(labels, names.label(tag), "true")
        : setLabel(labels, names.label(tag.slice(0, colon)), tag.slice(colon + 1));
      if (conflict !== undefined) return conflict;
    }
  }
  if (resources !== undefined && resources !== null) {
    if (!Array.isArray(resources)) return '"resources" is not an array';
    for (let i = 0; i < resources.length; i++) {
      const resource = resources[i];
      if (!isRecord(resource) || typeof resource.type !== "string" || typeof resource.name !== "string") {
        return `resource ${i} is not an object with string "type" and "name"`;
      }
      const conflict = setLabel(labels, names.label(resource.type), resource.name);
      if (conflict !== undefined) return conflict;
    }
  }
  return labels;
}

function setLabel(labels: Record<string, string>, name: string, value: string): string | undefined {
  // On a plain object this name would set the prototype instead of a label and vanish.
  if (name === "__proto__") {
    return `label name "${name}" is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`;
  }
  const existing = labels[name];
  // Inherited members such as `toString` are not strings, so they read as absent.
  if (typeof existing !== "string") {
    labels[name] = value;
    return undefined;
  }
  if (existing === value) return undefined;
  return `label "${name}" is given twice with different values (${JSON.stringify(existing)} and ${
    JSON.stringify(value)
  })`;
}

/**
 * Normalised names, remembered for one request: a Datadog payload repeats a few metric
 * names and tag keys across all its series. Capped so a payload of unique names cannot
 * grow it past a fixed size.
 */
export class NormalisedNames {
  static readonly MAX = 1024;
  readonly #metrics = new Map<string, string>();
  readonly #labels = new Map<string, string>();

  metric(name: string): string {
    return remember(this.#metrics, name, normalizeMetricName);
  }

  label(name: string): string {
    return remember(this.#labels, name, normalizeLabelName);
  }
}

function remember(memo: Map<string, string>, name: string, normalise: (name: string) => string): string {
  let normalised = memo.get(name);
  if (normalised === undefined) {
    normalised = normalise(name);
    if (memo.size < NormalisedNames.MAX) memo.set(name, normalised);
  }
  return normalised;
}

/** The points of the current series, re-pointed per series so nothing is allocated per point. */
class DatadogPoints implements SampleSource {
  #points: unknown[] = [];
  count = 0;

  of(points: unknown[]): void {
    this.#points = points;
    this.count = points.length;
  }

  timestampAt(i: number): number {
    const point = this.#points[i];
    if (typeof point !== "object" || point === null) return NaN;
    const seconds = (point as { timestamp?: unknown }).timestamp;
    return typeof seconds === "number" && Number.isFinite(seconds) ? Math.round(seconds * 1000) : NaN;
  }

  valueAt(i: number): number | undefined {
    const value = (this.#points[i] as { value?: unknown } | null)?.value;
    return typeof value === "number" ? value : undefined;
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
