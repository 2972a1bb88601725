/**
 * Finds the names that appear twice in one object of a JSON text. `JSON.parse` keeps the
 * last of the two silently, so `{"labels":{"env":"a","env":"b"}}` would be stored as
 * `env="b"` although the sender named two values; the native format rejects such a
 * series instead, as remote write does a label name sent twice.
 *
 * Called on text that `JSON.parse` has already accepted, and only where a series is not
 * in the series cache, so one pass without validation of its own is enough.
 *
 * @example
 * repeatedNames('[{"labels":{"a":"1"}},{"labels":{"a":"1","a":"2"}}]');
 * // [{ element: 1, parent: "labels", name: "a" }]
 */
export interface RepeatedName {
  /** 0-based index in a top-level array (0 when the text is one object). */
  readonly element: number;
  /** The member whose object repeats the name; undefined for the outermost object. */
  readonly parent: string | undefined;
  readonly name: string;
}

interface Container {
  readonly names?: Set<string>;
  readonly parent: string | undefined;
  expectName: boolean;
}

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c;
const OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d, OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d;

export function repeatedNames(text: string, start = 0, end = text.length): RepeatedName[] {
  const found: RepeatedName[] = [];
  const stack: Container[] = [];
  let element = 0;
  let member: string | undefined;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      let escaped = false;
      for (; j < end; j++) {
        const d = text.charCodeAt(j);
        if (d === BACKSLASH) {
          escaped = true;
          j++;
        } else if (d === QUOTE) break;
      }
      const top = stack[stack.length - 1];
      if (top?.names !== undefined && top.expectName) {
        const name = escaped ? JSON.parse(text.slice(i, j + 1)) as string : text.slice(i + 1, j);
        if (top.names.has(name)) found.push({ element, parent: top.parent, name });
        top.names.add(name);
        top.expectName = false;
        member = name;
      }
      i = j;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const parent = stack[stack.length - 1]?.names !== undefined ? member : undefined;
      stack.push({ names: c === OPEN_OBJECT ? new Set() : undefined, parent, expectName: true });
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
    } else if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (top?.names !== undefined) top.expectName = true;
      else if (stack.length === 1) element++;
    }
  }
  return found;
}

/** The rejection reason for a repeated name, in the words of a label where it is one. */
export function repeatedNameReason(repeated: RepeatedName, inLabels = repeated.parent === "labels"): string {
  return inLabels
    ? `label "${repeated.name}" is given twice`
    : `"${repeated.name}" is given twice in the series object`;
}
