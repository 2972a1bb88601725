/**
 * Executes incident commands against the incident's stream: read, decide, append at
 * the revision read. A concurrent append (the evaluator resolving while a person
 * acknowledges) is a version conflict, which is retried with the stream read again.
 * Event ids are derived from the command id, so a command replayed after a restart
 * (the evaluator re-reading uncommitted samples) records nothing twice.
 *
 * @example
 * const incidents = new IncidentCommands({ store });
 * await incidents.execute(command, transitionId);
 */
import { createHash } from "node:crypto";
import {
  decideIncident,
  evolveIncident,
  type IncidentCommand,
  type IncidentEvent,
  type IncidentState,
  initialIncident,
} from "../../domain/alerting/incident.ts";
import { Conflict } from "../../domain/errors.ts";
import type { EventStore, Position, StoredEvent } from "../../domain/ports/event-store.ts";
import { derivedEventId } from "../rules/rule-commands.ts";
import { decodeIncidentEvent } from "./incident-schema.ts";

const CONFLICT_RETRIES = 5;

export function incidentStreamId(incidentId: string): string {
  return `incident-${incidentId}`;
}

/** The incident of one group of one rule: the same id every time the group alerts. */
export function incidentIdFor(tenant: string, ruleId: string, groupKey: string): string {
  return derivedEventId(
    createHash("sha256").update(`${tenant}\u0000${ruleId}\u0000${groupKey}`).digest("hex"),
    0,
  );
}

export interface IncidentResult {
  readonly state: IncidentState;
  readonly events: readonly IncidentEvent[];
  readonly position: Position | undefined;
}

export class IncidentCommands {
  constructor(private readonly options: { readonly store: EventStore }) {}

  async load(incidentId: string): Promise<{ state: IncidentState; history: StoredEvent[] }> {
    const history = await this.options.store.readStream(incidentStreamId(incidentId));
    return { state: history.map(decodeIncidentEvent).reduce(evolveIncident, initialIncident()), history };
  }

  async execute(command: IncidentCommand, commandId: string): Promise<IncidentResult> {
    for (let attempt = 0;; attempt++) {
      const { state, history } = await this.load(command.data.incidentId);
      const events = decideIncident(command, state);
      if (events.length === 0) return { state, events, position: undefined };
      try {
        const result = await this.options.store.append(
          incidentStreamId(command.data.incidentId),
          events.map((event, i) => ({
            id: derivedEventId(commandId, i),
            ...event,
            metadata: { ...event.metadata, commandId },
          })),
          { expectedRevision: history.length === 0 ? "no_stream" : history.length - 1 },
        );
        return { state: events.reduce(evolveIncident, state), events, position: result.position };
      } catch (error) {
        if (!(error instanceof Conflict) || attempt === CONFLICT_RETRIES) throw error;
      }
    }
  }
}
