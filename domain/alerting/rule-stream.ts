/**
 * The decider of a rule's stream: create, update and delete, each with who and why.
 * The stream is the rule's audit trail; the SQL rules table is a projection of it. The
 * version is the number of events in the stream, which is what `If-Match` names, so a
 * stale edit is refused here before the event store's own revision check.
 *
 * @example
 * const state = events.reduce(evolveRule, initialRule());
 * const events = decideRule({ type: "UpdateRule", data: { ruleId, tenant, spec, expectedVersion: 3 }, metadata }, state);
 */
import { Conflict, NotFound } from "../errors.ts";
import { type Message, unreachable } from "./message.ts";
import { compileRule, type RuleSpec } from "./rule.ts";

interface RuleRef {
  readonly ruleId: string;
  readonly tenant: string;
}

export type RuleCommand =
  | Message<"CreateRule", RuleRef & { spec: RuleSpec }>
  | Message<"UpdateRule", RuleRef & { spec: RuleSpec; expectedVersion: number }>
  | Message<"DeleteRule", RuleRef & { expectedVersion: number }>;

export type RuleEvent =
  | Message<"RuleCreated", RuleRef & { spec: RuleSpec }>
  | Message<"RuleUpdated", RuleRef & { spec: RuleSpec }>
  | Message<"RuleDeleted", RuleRef>;

export type RuleState =
  | { readonly status: "absent" }
  | {
    readonly status: "active" | "deleted";
    readonly ruleId: string;
    readonly tenant: string;
    readonly spec: RuleSpec;
    readonly version: number;
  };

export function initialRule(): RuleState {
  return { status: "absent" };
}

export function decideRule(command: RuleCommand, state: RuleState): RuleEvent[] {
  const { metadata } = command;
  switch (command.type) {
    case "CreateRule":
      if (state.status !== "absent") {
        throw new Conflict(`Cannot create rule ${command.data.ruleId}: it exists`);
      }
      compileRule(command.data.ruleId, command.data.tenant, command.data.spec);
      return [{ type: "RuleCreated", data: command.data, metadata }];
    case "UpdateRule": {
      const { expectedVersion, ...data } = command.data;
      current(state, data, expectedVersion, "update");
      compileRule(data.ruleId, data.tenant, data.spec);
      return [{ type: "RuleUpdated", data, metadata }];
    }
    case "DeleteRule": {
      const { expectedVersion, ...data } = command.data;
      current(state, data, expectedVersion, "delete");
      return [{ type: "RuleDeleted", data, metadata }];
    }
    default:
      return unreachable(command);
  }
}

export function evolveRule(state: RuleState, event: RuleEvent): RuleState {
  switch (event.type) {
    case "RuleCreated":
      return { status: "active", ...event.data, version: 1 };
    case "RuleUpdated":
      return state.status === "absent"
        ? state
        : { ...state, spec: event.data.spec, version: state.version + 1 };
    case "RuleDeleted":
      return state.status === "absent" ? state : { ...state, status: "deleted", version: state.version + 1 };
    default:
      return unreachable(event);
  }
}

/** The rule is live, belongs to the tenant (another tenant's rule does not exist for it) and is at the version the caller saw. */
function current(state: RuleState, ref: RuleRef, expectedVersion: number, action: string): void {
  if (state.status !== "active" || state.tenant !== ref.tenant) {
    throw new NotFound(`Cannot ${action} rule ${ref.ruleId}: no such rule`);
  }
  if (state.version !== expectedVersion) {
    throw new Conflict(
      `Cannot ${action} rule ${ref.ruleId}: it is at version ${state.version}, not ${expectedVersion}; reload it and retry`,
    );
  }
}
