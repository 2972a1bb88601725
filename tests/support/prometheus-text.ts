/**
 * Reads the Prometheus text format that `GET /metrics` serves, enough for tests:
 * one entry per sample line, comments skipped.
 *
 * @example
 * const samples = parsePrometheusText(await program.metricsText());
 * metricValues(samples, "lookout_late_samples_total", { tenant: "acme" }) // [1]
 */
import { parsePrometheusText as parseExposition } from "../../domain/agent/prometheus-text.ts";

export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Every sample line; a line that does not parse fails the test that read it. */
export function parsePrometheusText(text: string): MetricSample[] {
  const { samples, errors } = parseExposition(text);
  if (errors.length > 0) throw new Error(`Cannot parse metrics: ${errors.join("; ")}`);
  return samples.map((s) => ({ name: s.metric, labels: s.labels, value: s.value }));
}

/** Values of the samples named `name` whose labels include every pair of `match`. */
export function metricValues(
  samples: readonly MetricSample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): number[] {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .map((s) => s.value);
}
