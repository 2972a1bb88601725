/**
 * An interval's samples as the native ingest body (`POST /v1/samples`, NDJSON): one
 * line per series, its points in one line, non-finite values as the strings the
 * native format defines (`"NaN"`, `"+Inf"`, `"-Inf"`).
 *
 * @example
 * nativeBatch([{ metric: "node_load1", labels: {}, value: 0.5 }], 1700000000000)
 * // '{"metric":"node_load1","labels":{},"timestamps":[1700000000000],"values":[0.5]}\n'
 */
import type { Labels } from "../series.ts";

export interface AgentSample {
  readonly metric: string;
  readonly labels: Labels;
  readonly value: number;
  /** Its own time in ms (a scraped sample may carry one); otherwise the batch's. */
  readonly timestamp?: number;
}

export function nativeBatch(samples: readonly AgentSample[], atMs: number): string {
  const series = new Map<
    string,
    { metric: string; labels: Labels; timestamps: number[]; values: unknown[] }
  >();
  for (const s of samples) {
    const key = JSON.stringify([s.metric, s.labels]);
    let entry = series.get(key);
    if (entry === undefined) {
      series.set(key, entry = { metric: s.metric, labels: s.labels, timestamps: [], values: [] });
    }
    entry.timestamps.push(s.timestamp ?? atMs);
    entry.values.push(wireValue(s.value));
  }
  let out = "";
  for (const entry of series.values()) out += JSON.stringify(entry) + "\n";
  return out;
}

function wireValue(v: number): number | string {
  if (Number.isFinite(v)) return v;
  if (v !== v) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}
