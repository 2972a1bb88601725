/**
 * Decodes an OTLP `ExportMetricsServiceRequest` (OTLP/JSON, or protobuf turned into
 * the same shape by `otlp-proto.ts`) into a sample batch.
 *
 * Mapping, as Prometheus' and VictoriaMetrics' OTLP receivers do it:
 * - labels: the resource's attributes, then the data point's, names through
 *   `normalizeLabelName` (`service.name` → `service_name`); a name given twice with
 *   different values rejects the point; arrays and maps become their JSON text;
 * - gauge and sum points: one sample of `normalizeMetricName(name)`; cumulative and
 *   delta sums are both stored as sent (a delta stays a per-interval amount);
 * - histogram points: `name_bucket{le="…"}` with cumulative counts (`le="+Inf"` is
 *   the total), `name_count` and, when sent, `name_sum`;
 * - summary points: `name{quantile="…"}`, `name_count`, `name_sum`;
 * - exponential histograms are not stored, and rejected with that reason;
 * - `time_unix_nano` is truncated to milliseconds; a point flagged
 *   NO_RECORDED_VALUE is stored as the Prometheus stale marker.
 *
 * Scope names are ignored. `rejectedDataPoints` counts the points that gave no sample,
 * for the reply's `partial_success`.
 *
 * @example
 * const result = decodeOtlp(JSON.parse(text), ctx);
 */
import { ValidationError } from "../../domain/errors.ts";
import { normalizeMetricName } from "../../domain/label-rules.ts";
import { DecodeCollector, type DecodeContext, type DecodeResult } from "./decode-context.ts";
import { OneSample } from "./one-sample.ts";
import { attributeLabels, nanosToMs, type Points, type Raw, STALE_NAN, valueOf } from "./otlp-values.ts";

export interface OtlpResult extends DecodeResult {
  readonly rejectedDataPoints: number;
}

const KEY_PREFIX = "\u0005";

export function decodeOtlp(request: unknown, ctx: DecodeContext): OtlpResult {
  const resources = (request as Raw)?.resourceMetrics;
  const isObject = typeof request === "object" && request !== null && !Array.isArray(request);
  if (!isObject || (resources !== undefined && !Array.isArray(resources))) {
    throw new ValidationError("Cannot ingest OTLP metrics: the body is not an ExportMetricsServiceRequest");
  }
  const walk = new OtlpWalk(new DecodeCollector(ctx), ctx);
  for (const rm of (resources ?? []) as Raw[]) walk.resource(rm);
  const result = walk.collector.result();
  const rejected = new Set(result.rejectedSeries.map((r) => r.index));
  return { ...result, rejectedDataPoints: rejected.size };
}

/**
 * Walks messages in the OTLP/JSON shape into a collector; also used by the protobuf
 * reader (`otlp-wire.ts`) for the metrics it does not read itself, so both share one
 * count of data points (the rejection indexes).
 */
export class OtlpWalk {
  readonly collector: DecodeCollector;
  readonly #ctx: DecodeContext;
  readonly #sample = new OneSample();
  #point = 0;
  #resourceLabels: Record<string, string> | string = {};
  #resourceKey = "";

  constructor(collector: DecodeCollector, ctx: DecodeContext) {
    this.collector = collector;
    this.#ctx = ctx;
  }

  resource(rm: Raw): void {
    this.beginResource(rm?.resource?.attributes);
    for (const sm of (Array.isArray(rm?.scopeMetrics) ? rm.scopeMetrics : []) as Raw[]) {
      for (const metric of (Array.isArray(sm?.metrics) ? sm.metrics : []) as Raw[]) this.metric(metric);
    }
  }

  /** The resource whose metrics follow; returns its labels, or why they cannot be built. */
  beginResource(attributes: unknown): Record<string, string> | string {
    this.#resourceLabels = attributeLabels(attributes, {});
    this.#resourceKey = JSON.stringify(attributes ?? null);
    return this.#resourceLabels;
  }

  /** The index of the next data point. */
  nextPoint(): number {
    return this.#point++;
  }

  metric(metric: Raw): void {
    const name = typeof metric?.name === "string" ? metric.name : "";
    const data = metric?.gauge ?? metric?.sum ?? metric?.histogram ?? metric?.summary ??
      metric?.exponentialHistogram;
    const points: Raw[] = Array.isArray(data?.dataPoints) ? data.dataPoints : [];
    if (name === "") {
      return this.collector.rejectSeries(this.#point++, "metric has no name", undefined, points.length);
    }
    if (data === undefined) {
      return this.collector.rejectSeries(this.#point++, "metric has no data points", name);
    }
    for (const point of points) {
      const index = this.#point++;
      if (metric.exponentialHistogram !== undefined) {
        this.collector.rejectSeries(index, "exponential histograms are not stored", name, 1);
        continue;
      }
      const ts = nanosToMs(point?.timeUnixNano);
      const attributes = JSON.stringify(point?.attributes ?? null);
      const stale = ((point?.flags ?? 0) & 1) === 1;
      const emit = (suffix: string, extra: string, extraName: string, value: unknown) =>
        this.#emit(
          index,
          point,
          name,
          suffix,
          attributes,
          extraName,
          extra,
          ts,
          stale ? STALE_NAN : valueOf(value),
        );
      if (metric.histogram !== undefined) this.#histogram(point, emit);
      else if (metric.summary !== undefined) this.#summary(point, emit);
      else emit("", "", "", point?.asDouble ?? point?.asInt);
    }
  }

  #histogram(point: Raw, emit: Points): void {
    const counts: unknown[] = Array.isArray(point?.bucketCounts) ? point.bucketCounts : [];
    const bounds: unknown[] = Array.isArray(point?.explicitBounds) ? point.explicitBounds : [];
    let cumulative = 0;
    for (let b = 0; b < bounds.length; b++) {
      cumulative += valueOf(counts[b] ?? 0) ?? NaN;
      emit("_bucket", String(bounds[b]), "le", cumulative);
    }
    emit("_bucket", "+Inf", "le", point?.count ?? 0);
    emit("_count", "", "", point?.count ?? 0);
    if (point?.sum !== undefined) emit("_sum", "", "", point.sum);
  }

  #summary(point: Raw, emit: Points): void {
    for (const q of (Array.isArray(point?.quantileValues) ? point.quantileValues : []) as Raw[]) {
      emit("", String(q?.quantile ?? 0), "quantile", q?.value ?? 0);
    }
    emit("_count", "", "", point?.count ?? 0);
    emit("_sum", "", "", point?.sum ?? 0);
  }

  #emit(
    index: number,
    point: Raw,
    name: string,
    suffix: string,
    attributes: string,
    extraName: string,
    extra: string,
    ts: number,
    value: number | undefined,
  ): void {
    const resolve = () => {
      const metric = normalizeMetricName(name + suffix);
      if (typeof this.#resourceLabels === "string") return { metric, rejection: this.#resourceLabels };
      const labels = attributeLabels(point?.attributes, { ...this.#resourceLabels });
      if (typeof labels === "string") return { metric, rejection: labels };
      if (extraName !== "") labels[extraName] = extra;
      return this.collector.resolve(metric, labels);
    };
    const cache = this.#ctx.seriesCache;
    const known = cache === undefined ? resolve() : (() => {
      const key = KEY_PREFIX + JSON.stringify(name + suffix) + extra + "\u0000" + this.#resourceKey +
        attributes;
      return cache.get(key) ?? cache.set(key, resolve());
    })();
    this.collector.addKnown(index, known, this.#sample.of(ts, value));
  }
}
