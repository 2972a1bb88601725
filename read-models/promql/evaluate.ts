/**
 * Evaluates a PromQL expression over a grid of instants (one instant for
 * `/api/v1/query`), with Prometheus' semantics: an instant selector takes the newest
 * sample within the lookback (default 5 minutes) before each instant and sees nothing
 * when that sample is a stale marker; a range selector takes the samples in
 * (t − range, t] without stale markers; `offset` shifts and `@` pins the instant.
 *
 * Samples come from a `SampleSource`, which turns each selector into one ClickHouse
 * query (selector-sql.ts); everything after the selection runs here, column-wise over
 * the steps.
 *
 * @example
 * const value = await evaluate(parsePromql("sum(rate(x[5m]))"), gridOf(start, end, step), { source });
 */
import { Unsupported, ValidationError } from "../../domain/errors.ts";
import { aggregate } from "./aggregate.ts";
import { type InstantAggregate, PUSHED_OPS, type PushedOp } from "./aggregate-sql.ts";
import type { Expr, Matcher, Selector } from "./ast.ts";
import { apply, isComparison, setOperation, vectorScalar, vectorVector } from "./binary.ts";
import { DROPS_ON_NAN, ELEMENTWISE } from "./functions.ts";
import { histogramQuantile } from "./histogram.ts";
import { KEEPS_NAME, RANGE_FUNCTIONS, type Window } from "./range-functions.ts";
import { type Grid, newSeries, type RawSeries, type StepSeries, type Value, withoutName } from "./values.ts";

export interface SampleSource {
  /** Every series matching all matchers, with its samples in (from, to] in ms. */
  select(matchers: readonly Matcher[], from: number, to: number): Promise<RawSeries[]>;
  /** `op by (…) (selector)` evaluated where the samples are, when the source can. */
  aggregateInstant?(request: InstantAggregate): Promise<StepSeries[]>;
}

export interface EvaluateOptions {
  readonly source: SampleSource;
  readonly lookbackMs?: number;
}

export const DEFAULT_LOOKBACK_MS = 300_000;

export class Evaluator {
  readonly #lookbackMs: number;

  constructor(readonly grid: Grid, readonly options: EvaluateOptions) {
    this.#lookbackMs = options.lookbackMs ?? DEFAULT_LOOKBACK_MS;
  }

  /** The instant a selector is evaluated at for step `i`, after `@` and `offset`. */
  instant(selector: Selector, i: number): number {
    const at = selector.at === undefined
      ? this.grid.start + i * this.grid.step
      : selector.at === "start"
      ? this.grid.start
      : selector.at === "end"
      ? this.grid.end
      : selector.at;
    return at - selector.offsetMs;
  }

  async #fetch(selector: Selector, windowMs: number): Promise<RawSeries[]> {
    const first = this.instant(selector, 0);
    const last = this.instant(selector, this.grid.count - 1);
    return await this.options.source.select(
      selector.matchers,
      Math.min(first, last) - windowMs,
      Math.max(first, last),
    );
  }

  async eval(expr: Expr): Promise<Value> {
    switch (expr.type) {
      case "number":
        return { kind: "scalar", values: new Float64Array(this.grid.count).fill(expr.value) };
      case "string":
        return { kind: "string", value: expr.value };
      case "vector":
        return { kind: "vector", series: await this.#instantSelect(expr.selector) };
      case "matrix":
        throw new ValidationError(
          "Cannot run the query: a range vector must be the argument of a function such as rate() or *_over_time()",
        );
      case "call":
        return await this.#call(expr.fn, expr.args);
      case "aggregate": {
        const pushed = await this.#pushedAggregate(expr);
        if (pushed) return { kind: "vector", series: pushed };
        const param = expr.param
          ? this.#scalar(await this.eval(expr.param), `${expr.op}() parameter`)
          : undefined;
        const input = this.#vector(await this.eval(expr.expr), `${expr.op}()`);
        return { kind: "vector", series: aggregate(expr.op, input, expr.grouping, param, this.grid) };
      }
      case "unary": {
        const inner = await this.eval(expr.expr);
        if (expr.op === "+") return inner;
        if (inner.kind === "scalar") return { kind: "scalar", values: inner.values.map((v) => -v) };
        const series = this.#vector(inner, "unary minus");
        return {
          kind: "vector",
          series: vectorScalar("*", series, this.#constant(-1), false, false, this.grid),
        };
      }
      case "binary":
        return await this.#binary(expr);
      default: {
        const unknown: never = expr;
        throw new Error(`unknown expression ${JSON.stringify(unknown)}`);
      }
    }
  }

  async #pushedAggregate(expr: Extract<Expr, { type: "aggregate" }>): Promise<StepSeries[] | undefined> {
    const inner = expr.expr;
    const source = this.options.source;
    if (
      !source.aggregateInstant || inner.type !== "vector" || inner.selector.at !== undefined ||
      expr.grouping.mode !== "by" || !PUSHED_OPS.includes(expr.op)
    ) return undefined;
    return await source.aggregateInstant({
      op: expr.op as PushedOp,
      by: expr.grouping.labels,
      matchers: inner.selector.matchers,
      start: this.instant(inner.selector, 0),
      step: this.grid.step,
      count: this.grid.count,
      lookbackMs: this.#lookbackMs,
    });
  }

  async #binary(expr: Extract<Expr, { type: "binary" }>): Promise<Value> {
    const [lhs, rhs] = [await this.eval(expr.lhs), await this.eval(expr.rhs)];
    const { op } = expr;
    if (op === "and" || op === "or" || op === "unless") {
      return {
        kind: "vector",
        series: setOperation(op, this.#vector(lhs, op), this.#vector(rhs, op), expr.matching, this.grid),
      };
    }
    if (lhs.kind === "string" || rhs.kind === "string") {
      throw new ValidationError(`Cannot run the query: "${op}" is not defined for strings`);
    }
    if (lhs.kind === "scalar" && rhs.kind === "scalar") {
      if (isComparison(op) && !expr.bool) {
        throw new ValidationError(
          "Cannot run the query: comparisons between scalars must use the bool modifier",
        );
      }
      return { kind: "scalar", values: lhs.values.map((a, i) => apply(op, a, rhs.values[i])) };
    }
    if (lhs.kind === "vector" && rhs.kind === "vector") {
      return {
        kind: "vector",
        series: vectorVector(op, lhs.series, rhs.series, expr.bool, expr.matching, this.grid),
      };
    }
    const scalarLeft = lhs.kind === "scalar";
    const vector = (scalarLeft ? rhs : lhs) as Extract<Value, { kind: "vector" }>;
    const scalar = (scalarLeft ? lhs : rhs) as Extract<Value, { kind: "scalar" }>;
    return {
      kind: "vector",
      series: vectorScalar(op, vector.series, scalar.values, scalarLeft, expr.bool, this.grid),
    };
  }

  async #call(fn: string, args: readonly Expr[]): Promise<Value> {
    if (Object.hasOwn(RANGE_FUNCTIONS, fn)) {
      const matrix = args[args.length - 1];
      if (matrix?.type !== "matrix") {
        throw new ValidationError(`Cannot run the query: ${fn}() expects a range vector such as x[5m]`);
      }
      const param = args.length > 1 ? this.#scalar(await this.eval(args[0]), `${fn}() parameter`) : undefined;
      return { kind: "vector", series: await this.#rangeSelect(fn, matrix.selector, matrix.rangeMs, param) };
    }
    if (Object.hasOwn(ELEMENTWISE, fn)) {
      const elementwise = ELEMENTWISE[fn];
      const input = this.#vector(await this.eval(args[0]), `${fn}()`);
      const extra: Float64Array[] = [];
      for (const a of args.slice(1)) extra.push(this.#scalar(await this.eval(a), `${fn}() argument`));
      return {
        kind: "vector",
        series: input.map((s) => {
          const out = newSeries(withoutName(s.labels), this.grid.count);
          for (let i = 0; i < this.grid.count; i++) {
            if (s.present[i] !== 1) continue;
            const params = extra.map((e) => e[i]);
            if (DROPS_ON_NAN.has(fn) && params[0] > params[1]) continue;
            out.values[i] = elementwise(s.values[i], params);
            out.present[i] = 1;
          }
          return out;
        }),
      };
    }
    switch (fn) {
      case "histogram_quantile": {
        const q = this.#scalar(await this.eval(args[0]), "histogram_quantile() quantile");
        return {
          kind: "vector",
          series: histogramQuantile(q, this.#vector(await this.eval(args[1]), fn), this.grid),
        };
      }
      case "scalar": {
        const input = this.#vector(await this.eval(args[0]), fn);
        const values = new Float64Array(this.grid.count).fill(NaN);
        for (let i = 0; i < this.grid.count; i++) {
          const present = input.filter((s) => s.present[i] === 1);
          if (present.length === 1) values[i] = present[0].values[i];
        }
        return { kind: "scalar", values };
      }
      case "vector": {
        const values = this.#scalar(await this.eval(args[0]), "vector() argument");
        return {
          kind: "vector",
          series: [{ labels: {}, values, present: new Uint8Array(this.grid.count).fill(1) }],
        };
      }
      case "time":
        return {
          kind: "scalar",
          values: Float64Array.from(
            { length: this.grid.count },
            (_, i) => (this.grid.start + i * this.grid.step) / 1000,
          ),
        };
      case "sort":
      case "sort_desc": {
        const input = this.#vector(await this.eval(args[0]), fn);
        const sign = fn === "sort" ? 1 : -1;
        return { kind: "vector", series: [...input].sort((a, b) => sign * (a.values[0] - b.values[0])) };
      }
      default:
        throw new Unsupported(`Cannot run the query: the function ${fn}() is not supported`);
    }
  }

  async #instantSelect(selector: Selector): Promise<StepSeries[]> {
    const raw = await this.#fetch(selector, this.#lookbackMs);
    return raw.map((r) => {
      const out = newSeries(r.labels, this.grid.count);
      for (let i = 0; i < this.grid.count; i++) {
        const t = this.instant(selector, i);
        const j = lastAtOrBefore(r.t, t);
        if (j < 0 || r.t[j] <= t - this.#lookbackMs || r.stale[j] === 1) continue;
        out.values[i] = r.v[j];
        out.present[i] = 1;
      }
      return out;
    });
  }

  async #rangeSelect(
    fn: string,
    selector: Selector,
    rangeMs: number,
    param: Float64Array | undefined,
  ): Promise<StepSeries[]> {
    const raw = await this.#fetch(selector, rangeMs);
    const compute = RANGE_FUNCTIONS[fn];
    return raw.map((r0) => {
      const r = withoutStale(r0);
      const out = newSeries(KEEPS_NAME.has(fn) ? r.labels : withoutName(r.labels), this.grid.count);
      for (let i = 0; i < this.grid.count; i++) {
        const end = this.instant(selector, i);
        const start = end - rangeMs;
        const hi = lastAtOrBefore(r.t, end) + 1;
        const lo = lastAtOrBefore(r.t, start) + 1;
        const w: Window = { t: r.t, v: r.v, lo, hi, start, end, rangeMs };
        const value = compute(w, param ? param[i] : NaN);
        if (value === undefined) continue;
        out.values[i] = value;
        out.present[i] = 1;
      }
      return out;
    });
  }

  #constant(value: number): Float64Array {
    return new Float64Array(this.grid.count).fill(value);
  }

  #scalar(value: Value, what: string): Float64Array {
    if (value.kind === "scalar") return value.values;
    throw new ValidationError(`Cannot run the query: ${what} must be a scalar, got ${value.kind}`);
  }

  #vector(value: Value, what: string): StepSeries[] {
    if (value.kind === "vector") return value.series;
    throw new ValidationError(`Cannot run the query: ${what} expects an instant vector, got ${value.kind}`);
  }
}

/** Index of the last time ≤ t, or −1. */
function lastAtOrBefore(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function withoutStale(r: RawSeries): RawSeries {
  if (!r.stale.includes(1)) return r;
  const keep = Array.from(r.stale.keys()).filter((i) => r.stale[i] === 0);
  return {
    labels: r.labels,
    t: Float64Array.from(keep, (i) => r.t[i]),
    v: Float64Array.from(keep, (i) => r.v[i]),
    stale: new Uint8Array(keep.length),
  };
}
