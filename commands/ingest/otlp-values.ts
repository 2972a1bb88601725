/**
 * The values of OTLP messages in their JSON shape: attributes as labels, 64-bit
 * nanosecond timestamps (decimal strings in OTLP/JSON and after protobuf decoding,
 * sometimes numbers) as milliseconds, and numbers that may be written as strings.
 *
 * @example
 * nanosToMs("1700000000123999999") // 1700000000123
 * attributeLabels([{ key: "service.name", value: { stringValue: "api" } }], {}) // { service_name: "api" }
 */
import { normalizeLabelName } from "../../domain/label-rules.ts";

// deno-lint-ignore no-explicit-any
export type Raw = any;

/** Emits one sample of a data point: metric suffix, extra label value and name, value. */
export type Points = (suffix: string, extra: string, extraName: string, value: unknown) => void;

/** Prometheus' stale marker, for points flagged NO_RECORDED_VALUE. */
export const STALE_NAN = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0];

const DIGITS = /^\d+$/;

/** Nanoseconds since the epoch as whole milliseconds (truncated); NaN when unusable. */
export function nanosToMs(raw: unknown): number {
  if (typeof raw === "number") return Number.isFinite(raw) && raw >= 0 ? Math.floor(raw / 1e6) : NaN;
  if (typeof raw !== "string" || !DIGITS.test(raw)) return NaN;
  return raw.length > 6 ? Number(raw.slice(0, raw.length - 6)) : 0;
}

/** A number, a decimal string, or one of protojson's "NaN", "Infinity", "-Infinity". */
export function valueOf(raw: unknown): number | undefined {
  if (typeof raw === "number") return raw;
  if (typeof raw !== "string") return undefined;
  switch (raw) {
    case "NaN":
      return NaN;
    case "Infinity":
      return Infinity;
    case "-Infinity":
      return -Infinity;
  }
  const n = Number(raw);
  return raw.trim() !== "" && Number.isFinite(n) ? n : undefined;
}

/** Adds `attributes` to `labels`; returns the labels, or why they cannot be built. */
export function attributeLabels(
  attributes: unknown,
  labels: Record<string, string>,
): Record<string, string> | string {
  if (attributes === undefined || attributes === null) return labels;
  if (!Array.isArray(attributes)) return "attributes are not a list of key/value pairs";
  for (const kv of attributes as Raw[]) {
    if (typeof kv?.key !== "string") return "an attribute has no key";
    const name = normalizeLabelName(kv.key);
    const value = anyValue(kv.value);
    if (name === "__proto__") {
      return `label name "${name}" is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`;
    }
    if (value === "") continue;
    const existing = Object.hasOwn(labels, name) ? labels[name] : undefined;
    if (existing !== undefined && existing !== value) {
      return `label "${name}" is given twice with different values (${JSON.stringify(existing)} and ${
        JSON.stringify(value)
      })`;
    }
    labels[name] = value;
  }
  return labels;
}

/** An `AnyValue` as label text: strings as they are, other scalars printed, lists and maps as JSON. */
function anyValue(v: Raw): string {
  if (v === undefined || v === null) return "";
  if (typeof v.stringValue === "string") return v.stringValue;
  if (v.boolValue !== undefined) return String(v.boolValue);
  if (v.intValue !== undefined) return String(v.intValue);
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  if (v.bytesValue !== undefined) return String(v.bytesValue);
  return JSON.stringify(plain(v));
}

function plain(v: Raw): unknown {
  if (v === undefined || v === null) return null;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(plain);
  if (v.kvlistValue !== undefined) {
    return Object.fromEntries((v.kvlistValue.values ?? []).map((kv: Raw) => [kv.key, plain(kv.value)]));
  }
  return v.stringValue ?? v.boolValue ?? v.intValue ?? v.doubleValue ?? v.bytesValue ?? null;
}
