/**
 * Reads the Prometheus text format that `GET /metrics` serves, enough for tests:
 * one entry per sample line, comments skipped.
 *
 * @example
 * const samples = parsePrometheusText(await program.metricsText());
 * metricValues(samples, "lookout_late_samples_total", { tenant: "acme" }) // [1]
 */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split("\n")) {
    if (line.length === 0 || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`Cannot parse metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, raw] of (m[2] ?? "").matchAll(LABEL)) {
      labels[name] = raw.replaceAll("\\n", "\n").replaceAll('\\"', '"').replaceAll("\\\\", "\\");
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
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
