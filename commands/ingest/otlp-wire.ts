/**
 * Reads a protobuf `ExportMetricsServiceRequest` by hand for its common case, gauge and
 * sum points, with the series cache keyed by raw bytes as in remote write; the result
 * is the one `decodeOtlp(decodeOtlpProtobuf(bytes))` gives (tests/unit/otlp-wire.test.ts
 * compares the two on the same bytes). protobufjs builds an object per data point and
 * attribute, which cost more than the rest of ingest together.
 *
 * ```
 * ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
 * ScopeMetrics    { repeated Metric metrics = 2; }
 * Metric          { string name = 1; Gauge gauge = 5; Sum sum = 7; … }
 * Gauge, Sum      { repeated NumberDataPoint data_points = 1; }
 * NumberDataPoint { repeated KeyValue attributes = 7; fixed64 time_unix_nano = 3;
 *                   double as_double = 4; sfixed64 as_int = 6; uint32 flags = 8; }
 * ```
 *
 * A point's cache key covers the whole resource field, the metric's name field and the
 * point's attribute fields, each with its tag and length, so no two series share bytes.
 * Attributes are parsed by protobufjs only on a miss, and a resource once per request.
 * Histograms, summaries, exponential histograms and a metric without a name go to the
 * JSON-shape walker whole. A malformed body is refused as a whole, as protobufjs does.
 *
 * @example
 * const result = decodeOtlpWire(bytes, ctx);
 */
import { ValidationError } from "../../domain/errors.ts";
import { normalizeMetricName } from "../../domain/label-rules.ts";
import { DecodeCollector, type DecodeContext } from "./decode-context.ts";
import { OneSample } from "./one-sample.ts";
import { type OtlpResult, OtlpWalk } from "./otlp.ts";
import { decodeOtlpMessage } from "./otlp-proto.ts";
import { attributeLabels, STALE_NAN } from "./otlp-values.ts";
import { ProtoCursor, ProtoError, SeriesByRanges } from "./proto-wire.ts";
import type { KnownSeries } from "./series-cache.ts";

const KEY_PREFIX = "\u0006";

export function decodeOtlpWire(bytes: Uint8Array, ctx: DecodeContext): OtlpResult {
  const reader = new OtlpReader(bytes, ctx);
  try {
    reader.request();
  } catch (error) {
    if (!(error instanceof ProtoError)) throw error;
    throw new ValidationError(
      `Cannot ingest OTLP metrics: the protobuf body is malformed (${error.message})`,
    );
  }
  const result = reader.walk.collector.result();
  const rejected = new Set(result.rejectedSeries.map((r) => r.index));
  return { ...result, rejectedDataPoints: rejected.size };
}

class OtlpReader {
  readonly walk: OtlpWalk;
  readonly #cur: ProtoCursor;
  readonly #sample = new OneSample();
  /** Ranges of the key: resource field, name field, then the point's attribute fields. */
  #ranges = new Uint32Array(16);
  #resourceLabels: Record<string, string> | string = {};
  #name = "";
  readonly #series?: SeriesByRanges;

  constructor(bytes: Uint8Array, ctx: DecodeContext) {
    this.#cur = new ProtoCursor(bytes);
    if (ctx.seriesCache !== undefined) this.#series = new SeriesByRanges(ctx.seriesCache, KEY_PREFIX);
    this.walk = new OtlpWalk(new DecodeCollector(ctx, Math.max(16, bytes.length >> 6)), ctx);
  }

  request(): void {
    const cur = this.#cur;
    const end = cur.bytes.length;
    while (cur.pos < end) {
      const tag = cur.varint32();
      if (tag !== 0x0a) {
        cur.skip(tag & 7, end);
        continue;
      }
      const rmEnd = cur.lengthEnd(end);
      this.#resourceMetrics(cur.pos, rmEnd);
      cur.pos = rmEnd;
    }
  }

  /** Finds the resource first (fields may come in any order), then reads the scopes. */
  #resourceMetrics(start: number, end: number): void {
    const cur = this.#cur;
    let resourceAt = 0, resourceEnd = 0;
    while (cur.pos < end) {
      const at = cur.pos;
      const tag = cur.varint32();
      if (tag === 0x0a) {
        resourceEnd = cur.lengthEnd(end);
        resourceAt = at;
        cur.pos = resourceEnd;
      } else cur.skip(tag & 7, end);
    }
    let attributes: unknown = undefined;
    if (resourceEnd > 0) {
      cur.pos = resourceAt;
      cur.varint32();
      const contentEnd = cur.lengthEnd(end);
      attributes = (embedded("Resource", cur.bytes, cur.pos, contentEnd) as {
        attributes?: unknown;
      }).attributes;
    }
    this.#resourceLabels = this.walk.beginResource(attributes);
    this.#ranges[0] = resourceAt;
    this.#ranges[1] = resourceEnd;
    cur.pos = start;
    while (cur.pos < end) {
      const tag = cur.varint32();
      if (tag !== 0x12) {
        cur.skip(tag & 7, end);
        continue;
      }
      const smEnd = cur.lengthEnd(end);
      while (cur.pos < smEnd) {
        const inner = cur.varint32();
        if (inner !== 0x12) {
          cur.skip(inner & 7, smEnd);
          continue;
        }
        const metricEnd = cur.lengthEnd(smEnd);
        this.#metric(cur.pos, metricEnd);
        cur.pos = metricEnd;
      }
    }
  }

  #metric(start: number, end: number): void {
    const cur = this.#cur;
    let nameAt = 0, nameEnd = 0, dataStart = 0, dataEnd = 0, kind = 0;
    while (cur.pos < end) {
      const at = cur.pos;
      const tag = cur.varint32();
      const fieldEnd = (tag & 7) === 2 ? cur.lengthEnd(end) : -1;
      if (fieldEnd < 0) cur.skip(tag & 7, end);
      else {
        if (tag === 0x0a) [nameAt, nameEnd] = [at, fieldEnd];
        else if (tag === 0x2a || tag === 0x3a || tag === 0x4a || tag === 0x52 || tag === 0x5a) {
          [dataStart, dataEnd, kind] = [cur.pos, fieldEnd, tag];
        }
        cur.pos = fieldEnd;
      }
    }
    if ((kind !== 0x2a && kind !== 0x3a) || nameEnd === 0) {
      // Histograms, summaries and unusual metrics: the walker's rules, on protobufjs' object.
      this.walk.metric(embedded("Metric", cur.bytes, start, end));
      return;
    }
    cur.pos = nameAt;
    cur.varint32();
    this.#name = cur.string(cur.lengthEnd(end));
    if (this.#name === "") {
      this.walk.metric(embedded("Metric", cur.bytes, start, end));
      return;
    }
    this.#ranges[2] = nameAt;
    this.#ranges[3] = nameEnd;
    cur.pos = dataStart;
    while (cur.pos < dataEnd) {
      const tag = cur.varint32();
      if (tag !== 0x0a) {
        cur.skip(tag & 7, dataEnd);
        continue;
      }
      const pointEnd = cur.lengthEnd(dataEnd);
      this.#point(pointEnd);
      cur.pos = pointEnd;
    }
    cur.pos = end;
  }

  #point(end: number): void {
    const cur = this.#cur;
    const bytes = cur.bytes;
    let ranges = 4;
    let ts = NaN;
    let value: number | undefined;
    let intValue: number | undefined;
    let flags = 0;
    while (cur.pos < end) {
      const at = cur.pos;
      const tag = cur.varint32();
      if (tag === 0x3a) {
        const fieldEnd = cur.lengthEnd(end);
        if (ranges === this.#ranges.length) this.#growRanges();
        this.#ranges[ranges++] = at;
        this.#ranges[ranges++] = fieldEnd;
        cur.pos = fieldEnd;
      } else if (tag === 0x19) {
        ts = nanosAt(cur, end);
      } else if (tag === 0x21) {
        if (cur.pos + 8 > end) throw new ProtoError(`message is truncated at byte ${cur.pos}`);
        value = cur.double();
      } else if (tag === 0x31) {
        intValue = int64At(cur, end);
      } else if (tag === 0x40) {
        flags = cur.varint32();
      } else cur.skip(tag & 7, end);
    }
    const index = this.walk.nextPoint();
    const v = (flags & 1) === 1 ? STALE_NAN : value ?? intValue;
    const resolve = () => this.#resolve(ranges);
    const known = this.#series === undefined
      ? resolve()
      : this.#series.known(bytes, this.#ranges, ranges, resolve);
    this.walk.collector.addKnown(index, known, this.#sample.of(ts, v));
  }

  #resolve(ranges: number): KnownSeries {
    const metric = normalizeMetricName(this.#name);
    if (typeof this.#resourceLabels === "string") return { metric, rejection: this.#resourceLabels };
    const cur = this.#cur;
    const resume = cur.pos;
    const attributes: unknown[] = [];
    for (let r = 4; r < ranges; r += 2) {
      cur.pos = this.#ranges[r];
      cur.varint32();
      const contentEnd = cur.lengthEnd(this.#ranges[r + 1]);
      attributes.push(embedded("KeyValue", cur.bytes, cur.pos, contentEnd));
    }
    cur.pos = resume;
    const labels = attributeLabels(ranges > 4 ? attributes : undefined, { ...this.#resourceLabels });
    if (typeof labels === "string") return { metric, rejection: labels };
    return this.walk.collector.resolve(metric, labels);
  }

  #growRanges(): void {
    const next = new Uint32Array(this.#ranges.length * 2);
    next.set(this.#ranges);
    this.#ranges = next;
  }
}

/** A message protobufjs decodes; its failures are the body's, as malformed input. */
function embedded(type: "Resource" | "Metric" | "KeyValue", bytes: Uint8Array, start: number, end: number) {
  try {
    return decodeOtlpMessage(type, bytes.subarray(start, end));
  } catch (error) {
    throw new ProtoError(`${type} at byte ${start}: ${error instanceof Error ? error.message : error}`);
  }
}

/** A fixed64 of nanoseconds as whole milliseconds, exactly (the value passes 2^53). */
function nanosAt(cur: ProtoCursor, end: number): number {
  if (cur.pos + 8 > end) throw new ProtoError(`message is truncated at byte ${cur.pos}`);
  const b = cur.bytes;
  const p = cur.pos;
  const lo = (b[p] | b[p + 1] << 8 | b[p + 2] << 16 | b[p + 3] << 24) >>> 0;
  const hi = (b[p + 4] | b[p + 5] << 8 | b[p + 6] << 16 | b[p + 7] << 24) >>> 0;
  cur.pos = p + 8;
  // hi · 2^32 = hi · 4294 · 10^6 + hi · 967296, and the remainder stays below 2^53.
  const rest = hi * 967296 + lo;
  let q = Math.floor(rest / 1e6);
  if (q * 1e6 > rest) q--;
  else if ((q + 1) * 1e6 <= rest) q++;
  return hi * 4294 + q;
}

/** An sfixed64 as the nearest double, as `Number` of its decimal text gives. */
function int64At(cur: ProtoCursor, end: number): number {
  if (cur.pos + 8 > end) throw new ProtoError(`message is truncated at byte ${cur.pos}`);
  const b = cur.bytes;
  const p = cur.pos;
  const lo = BigInt((b[p] | b[p + 1] << 8 | b[p + 2] << 16 | b[p + 3] << 24) >>> 0);
  const hi = BigInt((b[p + 4] | b[p + 5] << 8 | b[p + 6] << 16 | b[p + 7] << 24) >>> 0);
  cur.pos = p + 8;
  return Number(BigInt.asIntN(64, (hi << 32n) | lo));
}
