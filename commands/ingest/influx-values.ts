/**
 * Field values and timestamps of Influx line protocol, read from the body's text in the
 * pass that checks their grammar:
 *
 * - a float is `[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?` and finite;
 * - an integer is `-?\d+i`, an unsigned integer `\d+u`;
 * - a boolean is `t`, `T`, `true`, `True` or `TRUE` (1), `f`, `F`, `false`, `False` or
 *   `FALSE` (0);
 * - a quoted value is a string (`STRING`), which is not a number;
 * - a timestamp is `-?\d+` in its precision's unit.
 *
 * A number of at most 15 significant digits (and, for a float, at most 22 after the
 * point and no exponent) is its digits as an integer, exact below 2^53, divided by an
 * exact power of ten: one correctly rounded division, the double `Number` gives for the
 * text. Anything longer goes through `Number`. Slicing every value and timestamp and
 * testing it with a regular expression before `Number` read it again cost a string and
 * two more passes per sample.
 *
 * @example
 * const value = fieldValue(text, start, end); // a number, STRING, or undefined when not valid
 * const ms = timestampMs(text, start, end, { drop: 6, scale: 1 }); // ns → ms; NaN when not an integer
 */

import { POWERS_OF_TEN } from "./json-numbers.ts";

const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const QUOTE = 0x22;
const MAX_EXACT_DIGITS = 15;

export const STRING = Symbol("string field");

/** How a timestamp's unit becomes milliseconds: trailing digits dropped, then a factor. */
export interface TimestampUnit {
  readonly drop: number;
  readonly scale: number;
}

/** A field's value as a number, `STRING` for a string, undefined when it is not valid. */
export function fieldValue(text: string, start: number, end: number): number | typeof STRING | undefined {
  const first = text.charCodeAt(start);
  if (first === QUOTE) return STRING;
  const last = text.charCodeAt(end - 1);
  if (last === 0x69 || last === 0x75) return integer(text, start, end - 1, last === 0x69); // 7i, 7u
  if (first === 0x74 || first === 0x54 || first === 0x66 || first === 0x46) return boolean(text, start, end);
  return float(text, start, end);
}

/** An integer timestamp in `unit`, in ms (truncated); NaN when it is not an integer. */
export function timestampMs(text: string, start: number, end: number, unit: TimestampUnit): number {
  const negative = text.charCodeAt(start) === MINUS;
  const from = negative ? start + 1 : start;
  if (from >= end) return NaN;
  // Nanoseconds are beyond a double's exact integers: the dropped digits are never read as a number.
  const kept = end - unit.drop;
  let n = 0;
  for (let i = from; i < end; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return NaN;
    if (i < kept) n = n * 10 + digit;
  }
  if (kept - from > MAX_EXACT_DIGITS) n = Number(text.slice(from, kept));
  return (negative ? -n : n) * unit.scale;
}

function integer(text: string, start: number, end: number, signed: boolean): number | undefined {
  const negative = text.charCodeAt(start) === MINUS;
  if (negative && !signed) return undefined;
  const from = negative ? start + 1 : start;
  if (from >= end) return undefined;
  let n = 0;
  for (let i = from; i < end; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    n = n * 10 + digit;
  }
  if (end - from > MAX_EXACT_DIGITS) n = Number(text.slice(from, end));
  return negative ? -n : n;
}

function float(text: string, start: number, end: number): number | undefined {
  let i = start;
  let c = text.charCodeAt(i);
  const negative = c === MINUS;
  if (negative || c === PLUS) c = ++i < end ? text.charCodeAt(i) : -1;
  let n = 0;
  let digits = 0;
  let significant = 0;
  let scale = 0;
  while (c >= 0x30 && c <= 0x39) {
    n = n * 10 + (c - 0x30);
    if (n !== 0) significant++;
    digits++;
    c = ++i < end ? text.charCodeAt(i) : -1;
  }
  if (c === DOT) {
    c = ++i < end ? text.charCodeAt(i) : -1;
    while (c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      if (n !== 0) significant++;
      digits++;
      scale++;
      c = ++i < end ? text.charCodeAt(i) : -1;
    }
  }
  if (digits === 0) return undefined;
  let exact = significant <= MAX_EXACT_DIGITS && scale <= 22;
  if (c === 0x65 || c === 0x45) { // e, E
    exact = false;
    c = ++i < end ? text.charCodeAt(i) : -1;
    if (c === PLUS || c === MINUS) c = ++i < end ? text.charCodeAt(i) : -1;
    const exponent = i;
    while (c >= 0x30 && c <= 0x39) c = ++i < end ? text.charCodeAt(i) : -1;
    if (i === exponent) return undefined;
  }
  if (i !== end) return undefined;
  if (!exact) {
    const value = Number(text.slice(start, end));
    return Number.isFinite(value) ? value : undefined;
  }
  const value = scale > 0 ? n / POWERS_OF_TEN[scale] : n;
  return negative ? -value : value;
}

function boolean(text: string, start: number, end: number): number | undefined {
  switch (text.slice(start, end)) {
    case "t":
    case "T":
    case "true":
    case "True":
    case "TRUE":
      return 1;
    case "f":
    case "F":
    case "false":
    case "False":
    case "FALSE":
      return 0;
    default:
      return undefined;
  }
}
