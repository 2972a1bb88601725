/**
 * PromQL label matchers as JavaScript predicates over one label value (the empty string
 * for a missing label), for the in-process series index. A regular expression is
 * compiled only when it uses nothing but the syntax RE2 (ClickHouse's `match`) and
 * JavaScript read the same way: literals, `.`, classes of literals and ranges, `\d \w`
 * (ASCII in both; `\s` is not: JavaScript's takes Unicode spaces) and escaped punctuation, groups (`(...)`, `(?:...)`), alternation and the
 * quantifiers `* + ? {n,m}`. Flags (`(?i)`), lookarounds, backreferences, POSIX and
 * Unicode classes and the like give `undefined`, so the caller asks ClickHouse instead
 * of answering differently.
 *
 * @example
 * predicateOf({ name: "job", type: "=~", value: "api|web" })?.("api") // → true
 */
import type { CatalogMatcher } from "../domain/ports/series-catalog.ts";

export type Predicate = (value: string) => boolean;

/** Escapes read alike by both engines: the classes and escaped punctuation. */
const SAFE_ESCAPE = /^\\[dDwW.\\\-+*?()[\]{}|^$\/]/;
const SAFE_CHAR = /^[^\\(]/;

/** The anchored pattern as a JavaScript RegExp, or undefined outside the shared syntax. */
export function sharedRegExp(pattern: string): RegExp | undefined {
  for (let i = 0; i < pattern.length;) {
    const rest = pattern.slice(i);
    if (rest.startsWith("(?:")) i += 3;
    else if (rest.startsWith("(?")) return undefined;
    else if (rest.startsWith("(")) i += 1;
    else if (SAFE_ESCAPE.test(rest)) i += 2;
    else if (SAFE_CHAR.test(rest)) {
      // `[:` opens a POSIX class in RE2 and is a literal in JavaScript.
      if (rest.startsWith("[:") || rest.startsWith("[^:")) return undefined;
      i += 1;
    } else return undefined;
  }
  try {
    // ClickHouse's `.` matches a newline too (checked by the catalog contract): dotAll.
    return new RegExp(`^(?:${pattern})$`, "su");
  } catch {
    return undefined;
  }
}

export function predicateOf(m: CatalogMatcher): Predicate | undefined {
  switch (m.type) {
    case "=":
      return (v) => v === m.value;
    case "!=":
      return (v) => v !== m.value;
    case "=~":
    case "!~": {
      const re = sharedRegExp(m.value);
      if (re === undefined) return undefined;
      return m.type === "=~" ? (v) => re.test(v) : (v) => !re.test(v);
    }
    default: {
      const unknown: never = m.type;
      throw new Error(`unknown matcher ${unknown}`);
    }
  }
}

/** Whether any of the sorted `days` falls in [from, to]. */
export function daysOverlap(days: readonly number[], from: number, to: number): boolean {
  for (const day of days) {
    if (day > to) return false;
    if (day >= from) return true;
  }
  return false;
}
