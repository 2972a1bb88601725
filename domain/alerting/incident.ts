/**
 * The incident decider, in emmett's shape: `decide(command, state) → events`,
 * `evolve(state, event) → state`, `initialIncident()`. An incident is the life of one
 * alerting group: opened and fired, escalated when its level changes, acknowledged by a
 * person, resolved by the evaluator or a person, and reopened when the group fires
 * again. Its stream in the event store is the timeline auditors replay.
 *
 * Commands are idempotent where a retry is expected: firing an incident already firing
 * at that level, acknowledging twice or resolving twice decide no events, so an
 * evaluator that replays after a restart cannot duplicate a transition.
 *
 * @example
 * const state = events.reduce(evolveIncident, initialIncident());
 * const next = decideIncident({ type: "AcknowledgeIncident", data: { incidentId }, metadata }, state);
 */
import { Conflict, NotFound } from "../errors.ts";
import { type ChangeMetadata, type Message, unreachable } from "./message.ts";
import type { Level } from "./rule.ts";

export type IncidentLevel = Level | "nodata";

export interface IncidentSubject {
  readonly incidentId: string;
  readonly tenant: string;
  readonly ruleId: string;
  readonly ruleName: string;
  readonly severity: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type IncidentCommand =
  | Message<
    "FireIncident",
    IncidentSubject & {
      level: IncidentLevel;
      value: number | undefined;
      /** An alert received from outside (Prometheus, vmalert) brings its own annotations. */
      annotations?: Readonly<Record<string, string>>;
    }
  >
  | Message<"AcknowledgeIncident", { incidentId: string }>
  | Message<"ResolveIncident", { incidentId: string; value: number | undefined }>;

export type IncidentEvent =
  | Message<"IncidentOpened", IncidentSubject>
  | Message<
    "IncidentFired",
    {
      incidentId: string;
      level: IncidentLevel;
      value: number | undefined;
      annotations?: Readonly<Record<string, string>>;
    }
  >
  | Message<
    "IncidentEscalated",
    { incidentId: string; from: IncidentLevel; to: IncidentLevel; value: number | undefined }
  >
  | Message<"IncidentAcknowledged", { incidentId: string }>
  | Message<"IncidentResolved", { incidentId: string; value: number | undefined }>
  | Message<"IncidentReopened", { incidentId: string }>;

export type IncidentState =
  | { readonly status: "none" }
  | {
    readonly status: "firing" | "acknowledged" | "resolved";
    readonly subject: IncidentSubject;
    readonly level: IncidentLevel;
    readonly openedAt: number;
    readonly acknowledged: { readonly by: string; readonly at: number } | undefined;
    readonly resolvedAt: number | undefined;
    /** Transitions recorded so far, for the stream revision the next append expects. */
    readonly version: number;
  };

export function initialIncident(): IncidentState {
  return { status: "none" };
}

export function decideIncident(command: IncidentCommand, state: IncidentState): IncidentEvent[] {
  const { metadata } = command;
  switch (command.type) {
    case "FireIncident": {
      const { level, value, annotations, ...subject } = command.data;
      const { incidentId } = subject;
      const fired: IncidentEvent = {
        type: "IncidentFired",
        data: { incidentId, level, value, ...(annotations ? { annotations } : {}) },
        metadata,
      };
      if (state.status === "none") return [{ type: "IncidentOpened", data: subject, metadata }, fired];
      if (state.status === "resolved") {
        return [{ type: "IncidentReopened", data: { incidentId }, metadata }, fired];
      }
      if (state.level === level) return [];
      return [{
        type: "IncidentEscalated",
        data: { incidentId, from: state.level, to: level, value },
        metadata,
      }];
    }
    case "AcknowledgeIncident": {
      const open = existing(state, command.data.incidentId, "acknowledge");
      if (open.status === "resolved") {
        throw new Conflict(`Cannot acknowledge incident ${command.data.incidentId}: it is resolved`);
      }
      return open.status === "acknowledged"
        ? []
        : [{ type: "IncidentAcknowledged", data: command.data, metadata }];
    }
    case "ResolveIncident": {
      const open = existing(state, command.data.incidentId, "resolve");
      return open.status === "resolved" ? [] : [{ type: "IncidentResolved", data: command.data, metadata }];
    }
    default:
      return unreachable(command);
  }
}

export function evolveIncident(state: IncidentState, event: IncidentEvent): IncidentState {
  const at = (event.metadata as ChangeMetadata).at;
  if (event.type === "IncidentOpened") {
    return {
      status: "firing",
      subject: event.data,
      // The IncidentFired decided together with every IncidentOpened sets the level.
      level: "critical",
      openedAt: at,
      acknowledged: undefined,
      resolvedAt: undefined,
      version: 1,
    };
  }
  if (state.status === "none") return state;
  const version = state.version + 1;
  switch (event.type) {
    case "IncidentFired":
      return { ...state, level: event.data.level, version };
    case "IncidentEscalated":
      return { ...state, level: event.data.to, version };
    case "IncidentAcknowledged":
      return { ...state, status: "acknowledged", acknowledged: { by: event.metadata.who, at }, version };
    case "IncidentResolved":
      return { ...state, status: "resolved", resolvedAt: at, version };
    case "IncidentReopened":
      return { ...state, status: "firing", acknowledged: undefined, resolvedAt: undefined, version };
    default:
      return unreachable(event);
  }
}

function existing(
  state: IncidentState,
  incidentId: string,
  action: string,
): Exclude<IncidentState, { status: "none" }> {
  if (state.status === "none") {
    throw new NotFound(`Cannot ${action} incident ${incidentId}: no such incident`);
  }
  return state;
}
