/**
 * The benchmark workload: `series` series of one metric with five labels, sent in
 * bodies of a fixed number of samples, the same samples in every wire format.
 *
 * A body is built once per group of series as a byte template with fixed-width slots
 * for timestamps (13 ms digits) and values (`DDDDDD.DDD`); each request copies the
 * template and writes its digits into the slots. Generating a request thus costs a
 * memcpy and a few digits per sample, so the load generator stays out of the way of
 * the server it measures.
 *
 * Body `b` is round `floor(b / bodiesPerRound)` of series group `b % bodiesPerRound`;
 * point `j` of a line in round `r` is stamped `baseMs + (r * pointsPerLine + j) * stepMs`.
 *
 * @example
 * const w = new Workload({ series: 100_000, samplesPerBody: 10_000, pointsPerLine: 1, baseMs, stepMs: 10_000 });
 * const body = w.body("native", 0); // Uint8Array, NDJSON
 */

export type WireFormat = "native" | "native-json" | "vm-json" | "influx" | "datadog";

export const METRIC = "bench_metric";
export const DATADOG_METRIC = "bench.metric";

export interface WorkloadShape {
  readonly series: number;
  readonly samplesPerBody: number;
  readonly pointsPerLine: number;
  readonly baseMs: number;
  readonly stepMs: number;
}

/** The labels of series `s`, in a fixed order. */
export function seriesLabels(s: number): [string, string][] {
  return [
    ["job", "node"],
    ["dc", `dc-${s % 8}`],
    ["rack", `r${s % 64}`],
    ["host", `host-${String(s).padStart(6, "0")}`],
    ["instance", `10.${(s >> 16) & 255}.${(s >> 8) & 255}.${s & 255}:9100`],
  ];
}

/** The value of series `s` at its point number `k`: six integer digits, three decimals. */
export function sampleValue(s: number, k: number): number {
  return 100_000 + ((s * 7919 + k * 31) % 900_000) + ((s + k) % 1000) / 1000;
}

interface Template {
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Per sample, in (line, point) order: where its 13 timestamp digits go. */
  readonly tsSlots: Int32Array;
  readonly valueSlots: Int32Array;
  readonly firstSeries: number;
}

const TS_WIDTH = 13;
const VALUE_WIDTH = 10;
const TS_MARK = "\u0001".repeat(TS_WIDTH);
const VALUE_MARK = "\u0002".repeat(VALUE_WIDTH);
const encoder = new TextEncoder();

export class Workload {
  readonly seriesPerBody: number;
  readonly bodiesPerRound: number;
  readonly #templates = new Map<string, Template>();

  constructor(readonly shape: WorkloadShape) {
    if (shape.samplesPerBody % shape.pointsPerLine !== 0) {
      throw new Error("samplesPerBody must be a multiple of pointsPerLine");
    }
    this.seriesPerBody = shape.samplesPerBody / shape.pointsPerLine;
    if (shape.series % this.seriesPerBody !== 0) {
      throw new Error(
        `series (${shape.series}) must be a multiple of series per body (${this.seriesPerBody})`,
      );
    }
    this.bodiesPerRound = shape.series / this.seriesPerBody;
  }

  get samplesPerRound(): number {
    return this.shape.series * this.shape.pointsPerLine;
  }

  /** Timestamp (ms) of point `j` of every line in round `round`. */
  timestampOf(round: number, j: number): number {
    return this.shape.baseMs + (round * this.shape.pointsPerLine + j) * this.shape.stepMs;
  }

  /** The last timestamp of a run of `rounds` rounds. */
  lastTimestamp(rounds: number): number {
    return this.timestampOf(rounds - 1, this.shape.pointsPerLine - 1);
  }

  /** Body number `b` in `format`, with its own timestamps and values. */
  body(format: WireFormat, b: number): Uint8Array<ArrayBuffer> {
    const group = b % this.bodiesPerRound;
    const round = Math.floor(b / this.bodiesPerRound);
    const template = this.#template(format, group);
    const out = template.bytes.slice();
    const k = this.shape.pointsPerLine;
    const datadog = format === "datadog";
    for (let i = 0; i < this.seriesPerBody; i++) {
      const s = template.firstSeries + i;
      for (let j = 0; j < k; j++) {
        const slot = i * k + j;
        const point = round * k + j;
        const ts = this.shape.baseMs + point * this.shape.stepMs;
        // Datadog stamps in seconds: 10 digits, right-aligned in the 13-digit slot after 3 spaces.
        writeDigits(out, template.tsSlots[slot], datadog ? ts / 1000 : ts, datadog ? 10 : TS_WIDTH);
        writeValue(out, template.valueSlots[slot], sampleValue(s, point));
      }
    }
    return out;
  }

  contentType(format: WireFormat): string {
    switch (format) {
      case "native":
        return "application/x-ndjson";
      case "native-json":
      case "vm-json":
      case "datadog":
        return "application/json";
      case "influx":
        return "text/plain";
      default: {
        const unknown: never = format;
        throw new Error(`unknown format ${unknown}`);
      }
    }
  }

  #template(format: WireFormat, group: number): Template {
    const key = `${format}/${group}`;
    let template = this.#templates.get(key);
    if (template === undefined) {
      template = this.#build(format, group);
      this.#templates.set(key, template);
    }
    return template;
  }

  #build(format: WireFormat, group: number): Template {
    const first = group * this.seriesPerBody;
    const lines: string[] = [];
    for (let i = 0; i < this.seriesPerBody; i++) lines.push(this.#line(format, first + i));
    const text = format === "native-json"
      ? "[" + lines.join(",") + "]"
      : format === "datadog"
      ? '{"series":[' + lines.join(",") + "]}"
      : lines.join("\n") + "\n";
    const bytes = encoder.encode(text);
    const n = this.shape.samplesPerBody;
    const tsSlots = new Int32Array(n);
    const valueSlots = new Int32Array(n);
    // Markers appear in (line, point) order, timestamps and values interleaved per point
    // for Influx, all timestamps before the values in the JSON shapes: collect each kind in order.
    let ts = 0;
    let value = 0;
    for (let p = 0; p < bytes.length; p++) {
      if (bytes[p] === 1) {
        tsSlots[ts++] = p;
        bytes.fill(0x30, p, p + TS_WIDTH);
        p += TS_WIDTH - 1;
      } else if (bytes[p] === 2) {
        valueSlots[value++] = p;
        p += VALUE_WIDTH - 1;
      }
    }
    if (ts !== n || value !== n) {
      throw new Error(`template for ${format} has ${ts}/${value} slots, ${n} expected`);
    }
    if (format === "datadog") {
      // The seconds take the last 10 of the 13 digits; the first 3 become spaces.
      for (const slot of tsSlots) bytes.fill(0x20, slot, slot + 3);
      for (let i = 0; i < n; i++) tsSlots[i] += 3;
    }
    return { bytes, tsSlots, valueSlots, firstSeries: first };
  }

  #line(format: WireFormat, s: number): string {
    const labels = seriesLabels(s);
    const k = this.shape.pointsPerLine;
    const timestamps = new Array(k).fill(TS_MARK).join(",");
    const values = new Array(k).fill(VALUE_MARK).join(",");
    const labelJson = labels.map(([n, v]) => `"${n}":"${v}"`).join(",");
    switch (format) {
      case "native":
      case "native-json":
        return `{"metric":"${METRIC}","labels":{${labelJson}},"timestamps":[${timestamps}],"values":[${values}]}`;
      case "vm-json":
        return `{"metric":{"__name__":"${METRIC}",${labelJson}},"values":[${values}],"timestamps":[${timestamps}]}`;
      case "influx": {
        // Line protocol stamps in ns: the 13 ms digits followed by six zeros.
        const tags = labels.map(([n, v]) => `${n}=${v}`).join(",");
        return new Array(k).fill(`${METRIC},${tags} value=${VALUE_MARK} ${TS_MARK}000000`).join("\n");
      }
      case "datadog": {
        const points = new Array(k).fill(`{"timestamp":${TS_MARK},"value":${VALUE_MARK}}`).join(",");
        const tags = labels.filter(([n]) => n !== "host").map(([n, v]) => `"${n}:${v}"`).join(",");
        return `{"metric":"${DATADOG_METRIC}","type":3,"points":[${points}],"tags":[${tags}],` +
          `"resources":[{"type":"host","name":"${labels[3][1]}"}]}`;
      }
      default: {
        const unknown: never = format;
        throw new Error(`unknown format ${unknown}`);
      }
    }
  }
}

/** Writes `n` (a non-negative integer) as exactly `width` digits ending at `at + width`. */
function writeDigits(out: Uint8Array, at: number, n: number, width: number): void {
  for (let p = at + width - 1; p >= at; p--) {
    out[p] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
}

function writeValue(out: Uint8Array, at: number, value: number): void {
  const thousandths = Math.round(value * 1000);
  writeDigits(out, at, Math.floor(thousandths / 1000), 6);
  out[at + 6] = 0x2e;
  writeDigits(out, at + 7, thousandths % 1000, 3);
}
