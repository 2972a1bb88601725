/**
 * A scanner for the common shape of a native series object, so that a series ingest
 * has seen before costs a look-up instead of a `JSON.parse`, a label check, a hash
 * and an encoding:
 *
 * `{"metric":"cpu_usage","labels":{"host":"a"},"timestamps":[1700000000000],"values":[0.5]}`
 *
 * It reads the members `metric`, `labels`, `timestamps` and `values` in any order,
 * with any JSON whitespace, and validates the JSON grammar of everything it reads
 * except the labels object, whose text it only delimits: the text is the cache key,
 * and `JSON.parse` validates it the first time it is seen. Whatever it does not
 * handle (escapes in the metric or member names, other members, a member twice,
 * values other than numbers and the strings `"NaN"`, `"+Inf"`, `"Inf"`, `"-Inf"`)
 * makes it give up (`-1`), and the caller decodes the object with `JSON.parse`, so
 * the fast path never changes what is accepted or how it is rejected.
 *
 * @example
 * const scan = new NativeScan();
 * const end = scan.object(text, 0, text.length);
 * if (end >= 0) lookup(scan.seriesKey(text)) // … scan.timestamps, scan.values, scan.count
 */
import { NumberColumn, numbers, skipWhitespace } from "./json-numbers.ts";

export class NativeScan {
  metricStart = 0;
  metricEnd = 0;
  /** `-1` when the object has no `labels` member. */
  labelsStart = -1;
  labelsEnd = -1;
  /** The labels member came right after the metric member, or right before it. */
  #adjacent = 0;
  /** The first `count` entries of each are the object's; they are reused and only grow. */
  readonly timestamps = new NumberColumn();
  readonly values = new NumberColumn();
  count = 0;

  /**
   * Scans one object starting at or after `from` (after JSON whitespace) and before
   * `limit`. Returns the index just past its closing brace, or `-1` to give up.
   */
  object(text: string, from: number, limit: number): number {
    let i = skipWhitespace(text, from, limit);
    if (text.charCodeAt(i) !== LBRACE) return -1;
    let seen = 0;
    let previous = 0;
    this.#adjacent = 0;
    this.labelsStart = -1;
    let timestampCount = -1;
    let valueCount = -1;
    i = skipWhitespace(text, i + 1, limit);
    if (text.charCodeAt(i) === RBRACE) return -1;
    for (;;) {
      if (text.charCodeAt(i) !== QUOTE) return -1;
      const member = memberAt(text, i + 1);
      if (member === 0 || (seen & member) !== 0) return -1;
      seen |= member;
      i = skipWhitespace(text, i + 2 + (member === TIMESTAMPS ? 10 : 6), limit);
      if (text.charCodeAt(i) !== COLON) return -1;
      i = skipWhitespace(text, i + 1, limit);
      switch (member) {
        case METRIC:
          i = this.#metric(text, i, limit);
          if (previous === LABELS) this.#adjacent = -1;
          break;
        case LABELS:
          i = this.#labels(text, i, limit);
          if (previous === METRIC) this.#adjacent = 1;
          break;
        case TIMESTAMPS:
          i = numbers(text, i, limit, this.timestamps, false);
          timestampCount = this.timestamps.count;
          break;
        case VALUES:
          i = numbers(text, i, limit, this.values, true);
          valueCount = this.values.count;
          break;
      }
      if (i < 0) return -1;
      previous = member;
      i = skipWhitespace(text, i, limit);
      const c = text.charCodeAt(i);
      if (c === RBRACE) break;
      if (c !== COMMA) return -1;
      i = skipWhitespace(text, i + 1, limit);
    }
    if ((seen & REQUIRED) !== REQUIRED || timestampCount !== valueCount) return -1;
    this.count = timestampCount;
    return i + 1;
  }

  /**
   * A string that names the series (metric and labels text) and nothing else, the
   * same for every object that spells them the same way.
   */
  seriesKey(text: string): string {
    if (this.labelsStart < 0) return text.slice(this.metricStart, this.metricEnd);
    if (this.#adjacent > 0) return text.slice(this.metricStart, this.labelsEnd);
    if (this.#adjacent < 0) return text.slice(this.labelsStart, this.metricEnd);
    return "\u0001" + text.slice(this.metricStart, this.metricEnd) + "\u0001" +
      text.slice(this.labelsStart, this.labelsEnd);
  }

  /**
   * The object at `from` in the exact shape most senders write, the series spelled as
   * `key` spells it: `{"metric":"` key `,"timestamps":[…],"values":[…]}` (key with its
   * labels) or `{"metric":"` key `","timestamps":…` (no labels). A key comes from
   * `seriesKey` of an object scanned and validated before, so one comparison stands in
   * for scanning the metric and labels again. Returns the index past the object, or -1
   * (then `object` decides).
   */
  matchKnown(text: string, from: number, limit: number, key: string): number {
    if (!regionMatches(text, from, METRIC_FIRST) || !regionMatches(text, from + METRIC_FIRST.length, key)) {
      return -1;
    }
    let i = from + METRIC_FIRST.length + key.length;
    // A key with labels ends with their "}"; a metric alone needs its closing quote.
    if (text.charCodeAt(i - 1) !== RBRACE) {
      if (text.charCodeAt(i) !== QUOTE || key.includes('"')) return -1;
      i++;
    }
    if (!regionMatches(text, i, TIMESTAMPS_MEMBER)) return -1;
    i = numbers(text, i + TIMESTAMPS_MEMBER.length, limit, this.timestamps, false);
    if (i < 0 || !regionMatches(text, i, VALUES_MEMBER)) return -1;
    i = numbers(text, i + VALUES_MEMBER.length, limit, this.values, true);
    const count = this.values.count;
    if (i < 0 || text.charCodeAt(i) !== RBRACE || this.timestamps.count !== count) return -1;
    this.count = count;
    return i + 1;
  }

  /** A metric string without escapes or control characters. */
  #metric(text: string, i: number, limit: number): number {
    if (text.charCodeAt(i) !== QUOTE) return -1;
    const start = i + 1;
    for (let j = start; j < limit; j++) {
      const c = text.charCodeAt(j);
      if (c === QUOTE) {
        this.metricStart = start;
        this.metricEnd = j;
        return j + 1;
      }
      if (c === BACKSLASH || c < 0x20) return -1;
    }
    return -1;
  }

  /**
   * An object of string members, only delimited here: it ends at its first `}`, which
   * is right as long as it parses (a `}` inside a value makes the prefix fail to parse,
   * and the caller falls back), and a cache hit is a text that parsed before.
   */
  #labels(text: string, i: number, limit: number): number {
    if (text.charCodeAt(i) !== LBRACE) return -1;
    const end = text.indexOf("}", i + 1);
    if (end < 0 || end >= limit) return -1;
    this.labelsStart = i;
    this.labelsEnd = end + 1;
    return end + 1;
  }
}

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;

const METRIC_FIRST = '{"metric":"';
const TIMESTAMPS_MEMBER = ',"timestamps":';
const VALUES_MEMBER = ',"values":';

const METRIC = 1;
const LABELS = 2;
const TIMESTAMPS = 4;
const VALUES = 8;
const REQUIRED = METRIC | TIMESTAMPS | VALUES;

/** Which member name starts at `i` (just after its opening quote), or 0. */
function memberAt(text: string, i: number): number {
  switch (text.charCodeAt(i)) {
    case 0x6d: // m
      return text.startsWith('metric"', i) ? METRIC : 0;
    case 0x6c: // l
      return text.startsWith('labels"', i) ? LABELS : 0;
    case 0x74: // t
      return text.startsWith('timestamps"', i) ? TIMESTAMPS : 0;
    case 0x76: // v
      return text.startsWith('values"', i) ? VALUES : 0;
    default:
      return 0;
  }
}

/**
 * Whether `text` has `part` at `at`. Comparing a slice (a view, not a copy, for all but
 * the shortest parts) runs as one memory compare: about 50 ns per 110-character key
 * against about 450 ns for `startsWith` with a position or a `charCodeAt` loop.
 */
function regionMatches(text: string, at: number, part: string): boolean {
  return text.slice(at, at + part.length) === part;
}
