/**
 * PromQL text → `Expr` (ast.ts). The grammar is Prometheus' own Lezer grammar
 * (`@prometheus-io/lezer-promql`), so what parses here parses in Prometheus' UI; this
 * module only walks its tree. Syntax errors are `ValidationError`s naming the
 * position; valid PromQL that Lookout does not evaluate (subqueries, functions outside
 * `functions.ts`) is `Unsupported` and names what is missing.
 *
 * @example
 * parsePromql('rate(http_requests_total{job=~"api.*"}[5m] offset 1m)')
 */
import { parser } from "@prometheus-io/lezer-promql";
import { Unsupported, ValidationError } from "../../domain/errors.ts";
import type { AggregateOp, AtModifier, BinaryOp, Expr, Matcher, MatchType, VectorMatching } from "./ast.ts";
import { parseDuration, parseNumber, unquote } from "./literals.ts";
import { isSupportedFunction } from "./functions.ts";

type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

const BINARY_TOKENS: Record<string, BinaryOp> = {
  Add: "+",
  Sub: "-",
  Mul: "*",
  Div: "/",
  Mod: "%",
  Pow: "^",
  Eql: "==",
  Neq: "!=",
  Gtr: ">",
  Lss: "<",
  Gte: ">=",
  Lte: "<=",
  And: "and",
  Or: "or",
  Unless: "unless",
};

const MATCH_TOKENS: Record<string, MatchType> = { EqlSingle: "=", Neq: "!=", EqlRegex: "=~", NeqRegex: "!~" };

const AGGREGATE_OPS: readonly AggregateOp[] = [
  "sum",
  "avg",
  "min",
  "max",
  "count",
  "group",
  "stddev",
  "stdvar",
  "quantile",
  "topk",
  "bottomk",
];

export function parsePromql(text: string): Expr {
  if (text.trim() === "") throw new ValidationError("Cannot parse the query: it is empty");
  const tree = parser.parse(text);
  let errorAt = -1;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError && errorAt < 0) errorAt = node.from;
    },
  });
  if (errorAt >= 0) {
    const call = /([a-zA-Z_][a-zA-Z0-9_]*)\s*\($/.exec(text.slice(0, text.indexOf("(", errorAt - 1) + 1));
    const hint = call && !AGGREGATE_OPS.includes(call[1] as AggregateOp)
      ? `; unknown function "${call[1]}"?`
      : "";
    throw new ValidationError(
      `Cannot parse the query: unexpected input at character ${errorAt + 1} ("${
        text.slice(errorAt, errorAt + 12)
      }")${hint}`,
    );
  }
  return new Walker(text).expr(tree.topNode.firstChild!);
}

class Walker {
  constructor(readonly text: string) {}

  src(node: SyntaxNode): string {
    return this.text.slice(node.from, node.to);
  }

  children(node: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  expr(node: SyntaxNode): Expr {
    switch (node.name) {
      case "ParenExpr":
        return this.expr(node.firstChild!);
      case "NumberDurationLiteral":
        return { type: "number", value: parseNumber(this.src(node)) };
      case "StringLiteral":
        return { type: "string", value: unquote(this.src(node)) };
      case "VectorSelector":
        return { type: "vector", selector: { matchers: this.matchers(node), offsetMs: 0 } };
      case "MatrixSelector": {
        const inner = this.expr(node.getChild("VectorSelector")!);
        if (inner.type !== "vector") throw new ValidationError("Cannot parse the query: bad range selector");
        const rangeMs = this.duration(node.getChild("DurationExpr")!);
        if (!(rangeMs > 0)) throw new ValidationError("Cannot parse the query: a range must be positive");
        return { type: "matrix", selector: inner.selector, rangeMs };
      }
      case "OffsetExpr":
        return this.modify(node, (s) => ({ ...s, offsetMs: this.duration(node.lastChild!) }), "offset");
      case "StepInvariantExpr":
        return this.modify(node, (s) => ({ ...s, at: this.at(node.lastChild!) }), "@");
      case "UnaryExpr": {
        const op = this.src(node.firstChild!) === "-" ? "-" : "+";
        return { type: "unary", op, expr: this.expr(node.lastChild!) };
      }
      case "BinaryExpr":
        return this.binary(node);
      case "AggregateExpr":
        return this.aggregate(node);
      case "FunctionCall": {
        const fn = this.src(node.getChild("FunctionIdentifier")!);
        if (!isSupportedFunction(fn)) {
          throw new Unsupported(`Cannot run the query: the function ${fn}() is not supported`);
        }
        return { type: "call", fn, args: this.args(node.getChild("FunctionCallBody")!) };
      }
      case "SubqueryExpr":
        throw new Unsupported("Cannot run the query: subqueries (expr[range:step]) are not supported");
      default:
        throw new Unsupported(`Cannot run the query: ${node.name} is not supported`);
    }
  }

  /** Applies `offset` or `@` to the selector the modifier follows. */
  modify(node: SyntaxNode, change: (s: SelectorOf) => SelectorOf, what: string): Expr {
    const inner = this.expr(node.firstChild!);
    if (inner.type === "vector") return { ...inner, selector: change(inner.selector) };
    if (inner.type === "matrix") return { ...inner, selector: change(inner.selector) };
    throw new ValidationError(`Cannot parse the query: ${what} must follow a vector or range selector`);
  }

  duration(node: SyntaxNode): number {
    if (node.name === "OffsetDurationExpr" || node.name === "DurationExpr") {
      const kids = this.children(node);
      if (kids.length === 2 && kids[0].name === "UnaryOp") {
        const value = this.duration(kids[1]);
        return this.src(kids[0]) === "-" ? -value : value;
      }
      if (kids.length === 1) return this.duration(kids[0]);
    }
    if (node.name === "NumberDurationLiteralInDurationContext" || node.name === "NumberDurationLiteral") {
      return parseDuration(this.src(node));
    }
    throw new Unsupported(`Cannot run the query: duration expression "${this.src(node)}" is not supported`);
  }

  at(node: SyntaxNode): AtModifier {
    if (node.name === "AtModifierPreprocessors") return node.firstChild!.name === "AtStart" ? "start" : "end";
    return parseNumber(this.src(node)) * 1000;
  }

  matchers(node: SyntaxNode): Matcher[] {
    const out: Matcher[] = [];
    const name = node.getChild("Identifier");
    if (name) out.push({ name: "__name__", type: "=", value: this.src(name) });
    const list = node.getChild("LabelMatchers");
    for (const m of list ? this.children(list) : []) {
      if (m.name === "QuotedLabelName") {
        out.push({ name: "__name__", type: "=", value: unquote(this.src(m.firstChild!)) });
        continue;
      }
      const label = m.name === "QuotedLabelMatcher"
        ? unquote(this.src(m.getChild("QuotedLabelName")!.firstChild!))
        : this.src(m.getChild("LabelName")!);
      const type = MATCH_TOKENS[m.getChild("MatchOp")!.firstChild!.name];
      out.push({ name: label, type, value: unquote(this.src(m.getChild("StringLiteral")!)) });
    }
    if (!out.some((m) => !matchesEmpty(m))) {
      throw new ValidationError(
        "Cannot parse the query: a vector selector must contain at least one non-empty matcher",
      );
    }
    return out;
  }

  binary(node: SyntaxNode): Expr {
    const kids = this.children(node);
    const opNode = kids.find((k) => k.name in BINARY_TOKENS)!;
    const op = BINARY_TOKENS[opNode.name];
    const bool = kids.some((k) => k.name === "BoolModifier");
    const clause = kids.find((k) => k.name === "MatchingModifierClause");
    let matching: VectorMatching | undefined;
    if (clause) {
      const parts = this.children(clause);
      const lists = parts.filter((p) => p.name === "GroupingLabels").map((p) => this.labels(p));
      const group = parts.find((p) => p.name === "GroupLeft" || p.name === "GroupRight");
      matching = {
        mode: parts[0].name === "On" ? "on" : "ignoring",
        labels: lists[0] ?? [],
        ...(group
          ? { group: { side: group.name === "GroupLeft" ? "left" : "right", include: lists[1] ?? [] } }
          : {}),
      };
    }
    return {
      type: "binary",
      op,
      lhs: this.expr(kids[0]),
      rhs: this.expr(kids[kids.length - 1]),
      bool,
      ...(matching ? { matching } : {}),
    };
  }

  aggregate(node: SyntaxNode): Expr {
    const opName = this.src(node.getChild("AggregateOp")!).toLowerCase();
    if (!AGGREGATE_OPS.includes(opName as AggregateOp)) {
      throw new Unsupported(`Cannot run the query: the aggregation ${opName}() is not supported`);
    }
    const op = opName as AggregateOp;
    const modifier = node.getChild("AggregateModifier");
    const grouping = modifier
      ? {
        mode: modifier.firstChild!.name === "By" ? "by" as const : "without" as const,
        labels: this.labels(modifier.getChild("GroupingLabels")),
      }
      : { mode: "by" as const, labels: [] };
    const args = this.args(node.getChild("FunctionCallBody")!);
    const wantsParam = op === "quantile" || op === "topk" || op === "bottomk";
    if (args.length !== (wantsParam ? 2 : 1)) {
      throw new ValidationError(
        `Cannot parse the query: ${op}() takes ${wantsParam ? 2 : 1} argument(s), got ${args.length}`,
      );
    }
    return wantsParam
      ? { type: "aggregate", op, param: args[0], expr: args[1], grouping }
      : { type: "aggregate", op, expr: args[0], grouping };
  }

  args(body: SyntaxNode): Expr[] {
    return this.children(body).map((c) => this.expr(c));
  }

  labels(node: SyntaxNode | null): string[] {
    if (!node) return [];
    return this.children(node).map((c) =>
      c.name === "QuotedLabelName" ? unquote(this.src(c.firstChild!)) : this.src(c)
    );
  }
}

type SelectorOf = Extract<Expr, { type: "vector" }>["selector"];

function matchesEmpty(m: Matcher): boolean {
  switch (m.type) {
    case "=":
      return m.value === "";
    case "!=":
      return m.value !== "";
    case "=~":
      return new RegExp(`^(?:${m.value})$`).test("");
    case "!~":
      return !new RegExp(`^(?:${m.value})$`).test("");
    default: {
      const unknown: never = m.type;
      throw new Error(`unknown matcher ${unknown}`);
    }
  }
}
