/**
 * Decodes the native `POST /v1/samples` body: one object per series,
 * `{"metric":"cpu_usage","labels":{"host":"a"},"timestamps":[1700000000000],"values":[0.5]}`.
 *
 * The body is either
 * - JSON: a single series object or an array of them; a body that does not parse
 *   throws `ValidationError`;
 * - NDJSON: one series object per line, chosen by the content type
 *   (`application/x-ndjson`, `application/ndjson`, `application/jsonl`,
 *   `application/x-jsonl`) or, whatever the content type, when the body is not one
 *   JSON value but its first line is a JSON object and more lines follow. A line that
 *   does not parse rejects only that line's series; the rejection's index is the
 *   0-based line number. Blank lines are skipped.
 *
 * Per series:
 * - `metric` must already be a valid metric name; unlike the Datadog path nothing is
 *   renamed, so what is queried is what was sent;
 * - `labels` is optional and must be an object whose values are strings, each name
 *   once (`JSON.parse` would keep the last of a name sent twice; the series is rejected);
 * - `timestamps` are milliseconds since the epoch (fractions are rounded) and must be
 *   as many as `values`;
 * - a value is a number or one of the strings `"NaN"`, `"+Inf"`, `"Inf"`, `"-Inf"`,
 *   because JSON has no literal for NaN or the infinities; any other value rejects
 *   that sample as `invalid_value`.
 *
 * @example
 * const result = decodeNative(await req.text(), req.headers.get("content-type") ?? "", ctx);
 */
import { ValidationError } from "../../domain/errors.ts";
import type { Labels } from "../../domain/series.ts";
import { specialValue } from "../../domain/special-values.ts";
import {
  DecodeCollector,
  type DecodeContext,
  type DecodeResult,
  type SampleSource,
} from "./decode-context.ts";
import { isJsonWhitespace } from "./json-numbers.ts";
import { NativeScan } from "./native-scan.ts";
import { repeatedNameReason, repeatedNames } from "./repeated-name.ts";
import { type CachedSeries, copyString, type SeriesCache } from "./series-cache.ts";

const NDJSON_TYPES = new Set([
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-jsonl",
]);
const BLANK = /^\s*$/;
const NO_LABELS: Labels = Object.freeze({});

export function decodeNative(text: string, contentType: string, ctx: DecodeContext): DecodeResult {
  if (isNdjsonType(contentType)) return decodeLines(text, ctx);
  if (BLANK.test(text)) throw new ValidationError("Cannot ingest native samples: the body is empty");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    if (looksLikeNdjson(text)) return decodeLines(text, ctx);
    throw new ValidationError(
      `Cannot ingest native samples: the body is not valid JSON (${messageOf(error)})`,
    );
  }
  if (Array.isArray(body)) {
    const collector = new DecodeCollector(ctx, body.length);
    const samples = new NativeSamples();
    const repeated = new Map(repeatedNames(text).reverse().map((r) => [r.element, repeatedNameReason(r)]));
    for (let i = 0; i < body.length; i++) decodeOne(body[i], i, collector, samples, repeated.get(i));
    return collector.result();
  }
  if (!isRecord(body)) {
    throw new ValidationError(
      "Cannot ingest native samples: the body must be a series object or an array of them",
    );
  }
  const collector = new DecodeCollector(ctx);
  const repeated = repeatedNames(text)[0];
  decodeOne(body, 0, collector, new NativeSamples(), repeated && repeatedNameReason(repeated));
  return collector.result();
}

function decodeLines(text: string, ctx: DecodeContext): DecodeResult {
  const collector = new DecodeCollector(ctx);
  const samples = new NativeSamples();
  const cache = ctx.seriesCache;
  const scan = new NativeScan();
  let previous: CachedSeries | undefined;
  let line = 0;
  for (let start = 0; start < text.length; line++) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    if (cache !== undefined) {
      const known = scanKnown(text, start, end, scan, cache, collector, previous);
      previous = known;
      if (known !== undefined) {
        samples.of(scan.timestamps.items, scan.values.items, scan.count);
        collector.addKnown(line, known, samples);
        start = end + 1;
        continue;
      }
    }
    const raw = text.slice(start, end);
    start = end + 1;
    if (BLANK.test(raw)) continue;
    let entry: unknown;
    try {
      entry = JSON.parse(raw);
    } catch (error) {
      collector.rejectSeries(line, `line is not valid JSON (${messageOf(error)})`);
      continue;
    }
    const repeated = repeatedNames(raw)[0];
    decodeOne(entry, line, collector, samples, repeated && repeatedNameReason(repeated));
  }
  return collector.result();
}

/**
 * The series of a line in the common shape, from the cache or resolved and remembered;
 * undefined when the line needs the full `JSON.parse` path.
 */
function scanKnown(
  text: string,
  start: number,
  end: number,
  scan: NativeScan,
  cache: SeriesCache,
  collector: DecodeCollector,
  previous: CachedSeries | undefined,
): CachedSeries | undefined {
  if (previous !== undefined) {
    const predicted = cache.successor(previous, (next) => {
      const stop = scan.matchKnown(text, start, end, next.key);
      return stop >= 0 && isJsonWhitespace(text, stop, end);
    });
    if (predicted !== undefined) return predicted;
  }
  const stop = scan.object(text, start, end);
  if (stop < 0 || !isJsonWhitespace(text, stop, end)) return undefined;
  const key = scan.seriesKey(text);
  const known = cache.get(key) ?? resolveScanned(text, key, scan, cache, collector);
  if (known !== undefined && previous !== undefined) cache.link(previous, known);
  return known;
}

function resolveScanned(
  text: string,
  key: string,
  scan: NativeScan,
  cache: SeriesCache,
  collector: DecodeCollector,
): CachedSeries | undefined {
  let labels: unknown = NO_LABELS;
  let repeated: string | undefined;
  if (scan.labelsStart >= 0) {
    try {
      labels = JSON.parse(text.slice(scan.labelsStart, scan.labelsEnd));
    } catch {
      return undefined;
    }
    const names = repeatedNames(text, scan.labelsStart, scan.labelsEnd);
    if (names.length > 0) repeated = repeatedNameReason(names[0], true);
  }
  // A copy, so the cache does not keep the request body alive through a slice of it.
  const metric = copyString(text.slice(scan.metricStart, scan.metricEnd));
  return cache.set(
    key,
    repeated === undefined ? collector.resolve(metric, labels as Labels) : { metric, rejection: repeated },
  );
}

function decodeOne(
  entry: unknown,
  index: number,
  collector: DecodeCollector,
  samples: NativeSamples,
  repeated?: string,
): void {
  if (!isRecord(entry)) return collector.rejectSeries(index, "series is not a JSON object");
  const { metric, timestamps, values } = entry;
  const count = Math.max(
    Array.isArray(timestamps) ? timestamps.length : 0,
    Array.isArray(values) ? values.length : 0,
  );
  if (typeof metric !== "string") {
    return collector.rejectSeries(index, '"metric" is missing or not a string', undefined, count);
  }
  if (!Array.isArray(timestamps) || !Array.isArray(values)) {
    return collector.rejectSeries(index, '"timestamps" and "values" must both be arrays', metric, count);
  }
  if (timestamps.length !== values.length) {
    const reason = `"timestamps" has ${timestamps.length} entries but "values" has ${values.length}`;
    return collector.rejectSeries(index, reason, metric, count);
  }
  if (repeated !== undefined) return collector.rejectSeries(index, repeated, metric, count);
  const labels = entry.labels === undefined ? NO_LABELS : entry.labels;
  if (!isRecord(labels)) {
    return collector.rejectSeries(index, '"labels" must be an object of strings', metric, count);
  }
  samples.of(timestamps, values);
  // Label values that are not strings are caught by the collector's series check.
  collector.addSeries(index, metric, labels as Labels, samples);
}

/** The columns of the current series, re-pointed per series so nothing is allocated per sample. */
class NativeSamples implements SampleSource {
  #timestamps: unknown[] = [];
  #values: unknown[] = [];
  count = 0;

  /** `count` is less than the arrays' length when they are a scanner's reused columns. */
  of(timestamps: unknown[], values: unknown[], count = timestamps.length): void {
    this.#timestamps = timestamps;
    this.#values = values;
    this.count = count;
  }

  timestampAt(i: number): number {
    const ms = this.#timestamps[i];
    return typeof ms === "number" && Number.isFinite(ms) ? Math.round(ms) : NaN;
  }

  valueAt(i: number): number | undefined {
    const value = this.#values[i];
    if (typeof value === "number") return value;
    return typeof value === "string" ? specialValue(value) : undefined;
  }
}

function isNdjsonType(contentType: string): boolean {
  const semicolon = contentType.indexOf(";");
  const mediaType = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return NDJSON_TYPES.has(mediaType);
}

/** A body that is not one JSON value, whose first line is a whole object with more lines after it. */
function looksLikeNdjson(text: string): boolean {
  const start = text.search(/\S/);
  const end = text.indexOf("\n", start);
  if (start < 0 || end < 0 || BLANK.test(text.slice(end))) return false;
  try {
    return isRecord(JSON.parse(text.slice(start, end)));
  } catch {
    return false;
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
