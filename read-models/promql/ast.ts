/**
 * The PromQL expressions Lookout evaluates, as a tagged union built from the
 * `@prometheus-io/lezer-promql` syntax tree by `parse.ts`. Durations and times are
 * milliseconds; `at` is an absolute instant or the query's start or end.
 *
 * @example
 * parsePromql('sum by (job) (rate(http_requests_total[5m]))')
 * // → { type: "aggregate", op: "sum", grouping: { mode: "by", labels: ["job"] }, expr: { type: "call", … } }
 */
export type MatchType = "=" | "!=" | "=~" | "!~";

export interface Matcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

export type AtModifier = number | "start" | "end";

export interface Selector {
  readonly matchers: readonly Matcher[];
  readonly offsetMs: number;
  readonly at?: AtModifier;
}

export type AggregateOp =
  | "sum"
  | "avg"
  | "min"
  | "max"
  | "count"
  | "group"
  | "stddev"
  | "stdvar"
  | "quantile"
  | "topk"
  | "bottomk";

export type ArithmeticOp = "+" | "-" | "*" | "/" | "%" | "^";
export type ComparisonOp = "==" | "!=" | ">" | "<" | ">=" | "<=";
export type SetOp = "and" | "or" | "unless";
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

export interface VectorMatching {
  readonly mode: "on" | "ignoring";
  readonly labels: readonly string[];
  /** `group_left`/`group_right` with the labels they copy from the "one" side. */
  readonly group?: { readonly side: "left" | "right"; readonly include: readonly string[] };
}

export type Expr =
  | { readonly type: "number"; readonly value: number }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "vector"; readonly selector: Selector }
  | { readonly type: "matrix"; readonly selector: Selector; readonly rangeMs: number }
  | { readonly type: "call"; readonly fn: string; readonly args: readonly Expr[] }
  | {
    readonly type: "aggregate";
    readonly op: AggregateOp;
    readonly param?: Expr;
    readonly expr: Expr;
    readonly grouping: { readonly mode: "by" | "without"; readonly labels: readonly string[] };
  }
  | {
    readonly type: "binary";
    readonly op: BinaryOp;
    readonly lhs: Expr;
    readonly rhs: Expr;
    readonly bool: boolean;
    readonly matching?: VectorMatching;
  }
  | { readonly type: "unary"; readonly op: "-" | "+"; readonly expr: Expr };

export const COMPARISON_OPS: readonly string[] = ["==", "!=", ">", "<", ">=", "<="];
export const SET_OPS: readonly string[] = ["and", "or", "unless"];

/** Every selector in an expression, in evaluation order. */
export function selectorsOf(expr: Expr): Selector[] {
  switch (expr.type) {
    case "number":
    case "string":
      return [];
    case "vector":
    case "matrix":
      return [expr.selector];
    case "call":
      return expr.args.flatMap(selectorsOf);
    case "aggregate":
      return [...(expr.param ? selectorsOf(expr.param) : []), ...selectorsOf(expr.expr)];
    case "binary":
      return [...selectorsOf(expr.lhs), ...selectorsOf(expr.rhs)];
    case "unary":
      return selectorsOf(expr.expr);
    default: {
      const unknown: never = expr;
      throw new Error(`unknown expression ${JSON.stringify(unknown)}`);
    }
  }
}
