/**
 * PromQL literals: numbers (decimal, hex, `Inf`, `NaN`, and durations, which count as
 * seconds), durations (`1h30m`, `500ms`, or a bare number of seconds) and quoted
 * strings (double, single or back quotes, with Go's escapes).
 */
import { ValidationError } from "../../domain/errors.ts";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};
const DURATION = /^(?:\d+(?:ms|y|w|d|h|m|s))+$/;
const PART = /(\d+)(ms|y|w|d|h|m|s)/g;

/** A duration in ms: `5m`, `1h30m`, `250ms`, or a number of seconds (`300`, `1.5`). */
export function parseDuration(text: string): number {
  if (DURATION.test(text)) {
    let ms = 0;
    for (const [, n, unit] of text.matchAll(PART)) ms += Number(n) * UNIT_MS[unit];
    return ms;
  }
  const seconds = Number(text);
  if (!Number.isFinite(seconds)) {
    throw new ValidationError(`Cannot parse the query: "${text}" is not a duration`);
  }
  return Math.round(seconds * 1000);
}

export function parseNumber(text: string): number {
  const lower = text.toLowerCase();
  if (lower === "inf" || lower === "+inf") return Infinity;
  if (lower === "-inf") return -Infinity;
  if (lower === "nan") return NaN;
  if (DURATION.test(text)) return parseDuration(text) / 1000;
  const value = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : Number(text);
  if (Number.isNaN(value)) throw new ValidationError(`Cannot parse the query: "${text}" is not a number`);
  return value;
}

const ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
  "'": "'",
};

export function unquote(text: string): string {
  const quote = text[0];
  const body = text.slice(1, -1);
  if (quote === "`") return body;
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    if (e.length > 1) {
      const code = e[0] === "x" || e[0] === "u" || e[0] === "U" ? parseInt(e.slice(1), 16) : parseInt(e, 8);
      return String.fromCodePoint(code);
    }
    const mapped = ESCAPES[e];
    if (mapped === undefined) throw new ValidationError(`Cannot parse the query: unknown escape \\${e}`);
    return mapped;
  });
}
