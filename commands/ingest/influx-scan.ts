/**
 * Scans one line of Influx line protocol without allocating:
 * `measurement[,tag=value…] field=value[,field=value…] [timestamp]`.
 *
 * Escaping (InfluxDB's line protocol reference): in the measurement a backslash
 * escapes a comma or a space; in tag keys, tag values and field keys it escapes a
 * comma, an equals sign or a space; any other backslash is a literal one. String
 * field values are double-quoted, with `\"` and `\\` inside. The scan only records
 * where things are; `unescape` turns a range into its text when a series is new.
 *
 * @example
 * const scan = new InfluxScan();
 * const problem = scan.line(text, start, end); // undefined, or why the line is malformed
 * scan.seriesEnd; scan.fieldCount; scan.fieldKeyStart[0]; scan.timestampStart
 */

const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const SPACE = 0x20;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const TAB = 0x09;

export class InfluxScan {
  measurementEnd = 0;
  /** Where the measurement and tag set end (the space before the fields). */
  seriesEnd = 0;
  fieldCount = 0;
  fieldKeyStart: number[] = [];
  fieldKeyEnd: number[] = [];
  fieldValueStart: number[] = [];
  fieldValueEnd: number[] = [];
  /** `-1` when the line has no timestamp. */
  timestampStart = -1;
  timestampEnd = -1;

  /** Scans `text[start, end)`; returns why the line is malformed, or undefined. */
  line(text: string, start: number, end: number): string | undefined {
    let i = start;
    // Measurement: up to an unescaped comma or space.
    for (; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === BACKSLASH && i + 1 < end) {
        const next = text.charCodeAt(i + 1);
        if (next === COMMA || next === SPACE) i++;
      } else if (c === COMMA || c === SPACE) break;
    }
    this.measurementEnd = i;
    if (i === start) return "the measurement is missing";
    if (i >= end) return "the field set is missing";
    // Tag set: key=value pairs after commas, up to an unescaped space.
    while (text.charCodeAt(i) === COMMA) {
      const key = i + 1;
      i = keyEnd(text, key, end);
      if (i === key || i >= end || text.charCodeAt(i) !== EQUALS) {
        return `tag ${JSON.stringify(text.slice(key, i))} has no "=value"`;
      }
      i = keyEnd(text, i + 1, end);
    }
    this.seriesEnd = i;
    if (i >= end || text.charCodeAt(i) !== SPACE) return "the field set is missing";
    return this.#rest(text, i, end);
  }

  /**
   * Scans a line whose measurement and tag set are known to end at `seriesEnd` (the
   * same text as a line scanned before): only the fields and the timestamp are read.
   * `measurementEnd` is then -1 until `findMeasurementEnd` is asked for it.
   */
  lineAfterSeries(text: string, seriesEnd: number, end: number): string | undefined {
    this.measurementEnd = -1;
    this.seriesEnd = seriesEnd;
    return this.#rest(text, seriesEnd, end);
  }

  /** Where the measurement of the line starting at `start` ends. */
  findMeasurementEnd(text: string, start: number): number {
    let i = start;
    for (; i < this.seriesEnd; i++) {
      const c = text.charCodeAt(i);
      if (c === BACKSLASH && i + 1 < this.seriesEnd) {
        const next = text.charCodeAt(i + 1);
        if (next === COMMA || next === SPACE) i++;
      } else if (c === COMMA || c === SPACE) break;
    }
    return this.measurementEnd = i;
  }

  /** The fields and the timestamp, from the space after the tag set. */
  #rest(text: string, i: number, end: number): string | undefined {
    while (i < end && text.charCodeAt(i) === SPACE) i++;
    // Field set: key=value pairs separated by commas, up to a space.
    this.fieldCount = 0;
    for (;;) {
      const key = i;
      i = keyEnd(text, key, end);
      if (i === key || i >= end || text.charCodeAt(i) !== EQUALS) {
        return `field ${JSON.stringify(text.slice(key, i))} has no "=value"`;
      }
      const value = i + 1;
      i = text.charCodeAt(value) === QUOTE ? stringEnd(text, value, end) : valueEnd(text, value, end);
      if (i < 0) {
        return `the string value of field ${JSON.stringify(text.slice(key, value - 1))} is not closed`;
      }
      if (i === value) return `field ${JSON.stringify(text.slice(key, value - 1))} has an empty value`;
      this.#field(key, value - 1, value, i);
      if (i >= end || text.charCodeAt(i) !== COMMA) break;
      i++;
    }
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i >= end) {
      this.timestampStart = this.timestampEnd = -1;
      return undefined;
    }
    this.timestampStart = i;
    while (i < end && !isBlank(text.charCodeAt(i))) i++;
    this.timestampEnd = i;
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i < end) return `unexpected text after the timestamp: ${JSON.stringify(text.slice(i, end))}`;
    return undefined;
  }

  #field(keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): void {
    const n = this.fieldCount++;
    this.fieldKeyStart[n] = keyStart;
    this.fieldKeyEnd[n] = keyEnd;
    this.fieldValueStart[n] = valueStart;
    this.fieldValueEnd[n] = valueEnd;
  }
}

/** End of a tag key, tag value or field key: an unescaped comma, equals sign or space. */
export function keyEnd(text: string, i: number, end: number): number {
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < end) {
      const next = text.charCodeAt(i + 1);
      if (next === COMMA || next === EQUALS || next === SPACE) i++;
    } else if (c === COMMA || c === EQUALS || c === SPACE) break;
  }
  return i;
}

/** End of an unquoted field value: a comma or a space. */
function valueEnd(text: string, i: number, end: number): number {
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === COMMA || c === SPACE) break;
  }
  return i;
}

/** Just past the closing quote of a string value starting at `i`, or -1. */
function stringEnd(text: string, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB || c === 0x0d;
}

/**
 * The text of a measurement (`measurement = true`: escapes of comma and space) or of
 * a tag key, tag value or field key (also the equals sign).
 */
export function unescape(text: string, start: number, end: number, measurement = false): string {
  const raw = text.slice(start, end);
  if (raw.indexOf("\\") < 0) return raw;
  return measurement ? raw.replace(/\\([, ])/g, "$1") : raw.replace(/\\([,= ])/g, "$1");
}
