/**
 * The shape of every command and event in the alerting domain: a tagged union member
 * `{ type, data, metadata }`, as in emmett. Commands are imperative (`CreateRule`),
 * events past tense (`RuleCreated`). A `switch` over a union ends in `unreachable` so
 * a new member fails to compile until every switch handles it.
 *
 * @example
 * type RuleCreated = Message<"RuleCreated", { ruleId: string }, ChangeMetadata>;
 */
export interface Message<Type extends string, Data, Metadata = ChangeMetadata> {
  readonly type: Type;
  readonly data: Data;
  readonly metadata: Metadata;
}

/** Who asked for a change, why, and when (ms since the epoch, given by the caller). */
export interface ChangeMetadata {
  readonly who: string;
  readonly why: string;
  readonly at: number;
}

/** The compile-time exhaustiveness check at the end of a `switch`. */
export function unreachable(value: never): never {
  throw new Error(`Unhandled message: ${JSON.stringify(value)}`);
}
