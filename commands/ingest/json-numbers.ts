/**
 * The JSON number grammar for the native fast path (`native-scan.ts`): whitespace, arrays
 * of numbers (and, for values, the strings that stand for NaN and the infinities) read
 * into a reused column, and the same doubles `JSON.parse` gives, without a `JSON.parse`.
 *
 * @example
 * const column = new NumberColumn();
 * const end = numbers(text, i, text.length, column, true); // -1 when not a number array
 */
import { specialValue } from "../../domain/special-values.ts";

const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;

/** Whether `text` between `from` and `to` is JSON whitespace only. */
export function isJsonWhitespace(text: string, from: number, to: number): boolean {
  return skipWhitespace(text, from, to) === to;
}

export function skipWhitespace(text: string, i: number, limit: number): number {
  while (i < limit) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/**
 * Numbers read from one JSON array. `items` is overwritten in place from the start:
 * truncating an array frees its storage, and every line would allocate it again.
 */
export class NumberColumn {
  readonly items: number[] = [];
  count = 0;

  put(n: number): void {
    if (this.count < this.items.length) this.items[this.count] = n;
    else this.items.push(n);
    this.count++;
  }
}

/**
 * An array of JSON numbers (and, for values, the strings that stand for NaN and the
 * infinities) into `out`. Returns the index past `]`, or -1.
 */
export function numbers(
  text: string,
  i: number,
  limit: number,
  out: NumberColumn,
  specials: boolean,
): number {
  out.count = 0;
  if (text.charCodeAt(i) !== LBRACKET) return -1;
  i = skipWhitespace(text, i + 1, limit);
  if (text.charCodeAt(i) === RBRACKET) return i + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      if (!specials) return -1;
      const end = text.indexOf('"', i + 1);
      if (end < 0 || end >= limit) return -1;
      const special = specialValue(text.slice(i + 1, end));
      if (special === undefined) return -1;
      out.put(special);
      i = end + 1;
    } else {
      i = number(text, i, limit, out);
      if (i < 0) return -1;
    }
    i = skipWhitespace(text, i, limit);
    const next = text.charCodeAt(i);
    if (next === RBRACKET) return i + 1;
    if (next !== COMMA) return -1;
    i = skipWhitespace(text, i + 1, limit);
  }
}

/**
 * The number at `i` in JSON's grammar `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
 * into `out`, read in the pass that checks it; returns the index past it, or -1.
 *
 * The value is the one `JSON.parse` gives. A decimal of at most 15 significant digits
 * and at most 22 after the point is its digits as an integer (exact below 2^53) divided
 * by an exact power of ten: one correctly rounded division, the same double as a full
 * decimal conversion (the fast path of Clinger's algorithm). Anything else, such as
 * exponents or longer mantissas, goes through `Number`, which rounds as `JSON.parse`.
 * Checking the grammar and then reading the digits again cost a second pass over every
 * number of a body.
 */
function number(text: string, i: number, limit: number, out: NumberColumn): number {
  const start = i;
  const negative = text.charCodeAt(i) === MINUS;
  if (negative) i++;
  let n = 0;
  let significant = 0;
  let c = text.charCodeAt(i);
  if (c === 0x30) c = ++i < limit ? text.charCodeAt(i) : -1;
  else if (c > 0x30 && c <= 0x39) {
    do {
      n = n * 10 + (c - 0x30);
      significant++;
      c = ++i < limit ? text.charCodeAt(i) : -1;
    } while (c >= 0x30 && c <= 0x39);
  } else return -1;
  let scale = 0;
  if (c === DOT) {
    c = ++i < limit ? text.charCodeAt(i) : -1;
    if (c < 0x30 || c > 0x39) return -1;
    do {
      n = n * 10 + (c - 0x30);
      if (n !== 0) significant++;
      scale++;
      c = ++i < limit ? text.charCodeAt(i) : -1;
    } while (c >= 0x30 && c <= 0x39);
  }
  let exact = significant <= 15 && scale <= 22;
  if (c === 0x65 || c === 0x45) {
    exact = false;
    c = text.charCodeAt(++i);
    if (c === PLUS || c === MINUS) i++;
    const end = digits(text, i, limit);
    if (end === i) return -1;
    i = end;
  }
  if (i > limit) return -1;
  if (!exact) out.put(Number(text.slice(start, i)));
  else {
    const value = scale > 0 ? n / POWERS_OF_TEN[scale] : n;
    out.put(negative ? -value : value);
  }
  return i;
}

function digits(text: string, i: number, limit: number): number {
  while (i < limit) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  return i;
}

/** 10^0 … 10^22, the powers of ten a double holds exactly. */
export const POWERS_OF_TEN: readonly number[] = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
