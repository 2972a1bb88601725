/**
 * Values of PromQL evaluation, held column-wise over the query's steps: a series is
 * its labels plus one value and one presence flag per step, so a range query is
 * evaluated once per series rather than once per step.
 *
 * Raw samples as read from the store keep the Prometheus stale marker as a flag, since
 * it ends a series for instant selection and is dropped from range selection.
 */
export type Labels = Record<string, string>;

/** Evaluation instants: `start + i * step` for `i < count`, in ms. */
export interface Grid {
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly count: number;
}

export interface StepSeries {
  readonly labels: Labels;
  readonly values: Float64Array;
  readonly present: Uint8Array;
}

export type Value =
  | { readonly kind: "scalar"; readonly values: Float64Array }
  | { readonly kind: "vector"; readonly series: StepSeries[] }
  | { readonly kind: "string"; readonly value: string };

export interface RawSeries {
  readonly labels: Labels;
  /** Sample times in ms, ascending. */
  readonly t: Float64Array;
  readonly v: Float64Array;
  /** 1 where the sample is the Prometheus stale marker. */
  readonly stale: Uint8Array;
}

export const STALE_NAN_BITS = 0x7ff0000000000002n;

export function gridOf(start: number, end: number, step: number): Grid {
  return { start, end, step, count: Math.floor((end - start) / step) + 1 };
}

export function newSeries(labels: Labels, count: number): StepSeries {
  return { labels, values: new Float64Array(count), present: new Uint8Array(count) };
}

/** Identity of a label set, independent of key order. */
export function labelsKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}\u0000${labels[k]}`).join("\u0001");
}

export function withoutName(labels: Labels): Labels {
  if (!("__name__" in labels)) return labels;
  const { __name__: _, ...rest } = labels;
  return rest;
}

/** Keeps only series present at some step. */
export function nonEmpty(series: StepSeries[]): StepSeries[] {
  return series.filter((s) => s.present.some((p) => p === 1));
}
