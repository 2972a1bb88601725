/**
 * The parse trees of recently asked queries, by their text: a dashboard asks the same
 * queries at every refresh, and parsing one costs more than answering it from the head
 * of recent samples (the grammar's parser runs cold between refreshes). Trees are never
 * changed by evaluation, so one can serve every request. Bounded: past `entries` the
 * oldest is dropped; texts longer than 4 KiB are parsed each time.
 *
 * @example
 * const parsed = new ParsedQueries(512);
 * await rangeQuery(source, text, range, limits, lookback, parsed.parse);
 */
import type { Expr } from "./ast.ts";
import { parsePromql } from "./parse.ts";

const LONGEST_KEPT = 4096;

export class ParsedQueries {
  readonly #trees = new Map<string, Expr>();

  constructor(private readonly entries = 512) {}

  /** `parsePromql`, answered from the trees kept when the text was parsed before. */
  readonly parse = (text: string): Expr => {
    const known = this.#trees.get(text);
    if (known !== undefined) return known;
    const tree = parsePromql(text);
    if (text.length > LONGEST_KEPT) return tree;
    if (this.#trees.size >= this.entries) this.#trees.delete(this.#trees.keys().next().value!);
    this.#trees.set(text, tree);
    return tree;
  };
}
