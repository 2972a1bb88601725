/**
 * Executes incident commands against the incident's stream: read, decide, append at
 * the revision read. A concurrent append (the evaluator resolving while a person
 * acknowledges) is a version conflict, which is retried with the stream read again.
 * Event ids are derived from the command id, so a command replayed after a restart
 * (the evaluator re-reading uncommitted samples) records nothing twice.
 *
 * An evaluation round's transitions go through `executeMany`: the incidents' streams
 * are read together and their events appended in one `appendMany`, so a storm of a
 * thousand incidents costs a few statements, not a few thousand. A conflict (someone
 * acknowledged one of them meanwhile) falls back to one command at a time, each
 * retried as `execute` does; the derived event ids keep that free of duplicates.
 *
 * @example
 * const incidents = new IncidentCommands({ store });
 * await incidents.execute(command, transitionId);
 * await incidents.executeMany([{ command, commandId: transitionId }]);
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
import type { EventStore, Position, StoredEvent, StreamAppend } from "../../domain/ports/event-store.ts";
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

export interface IdentifiedCommand {
  readonly command: IncidentCommand;
  readonly commandId: string;
}

export class IncidentCommands {
  constructor(private readonly options: { readonly store: EventStore }) {}

  async load(incidentId: string): Promise<{ state: IncidentState; history: StoredEvent[] }> {
    const history = await this.options.store.readStream(incidentStreamId(incidentId));
    return { state: stateOf(history), history };
  }

  async execute(command: IncidentCommand, commandId: string): Promise<IncidentResult> {
    for (let attempt = 0;; attempt++) {
      const decided = decide({ command, commandId }, await this.load(command.data.incidentId));
      if (decided.append === undefined) return decided.result;
      try {
        const [result] = await this.options.store.appendMany([decided.append]);
        return { ...decided.result, position: result.position };
      } catch (error) {
        if (!(error instanceof Conflict) || attempt === CONFLICT_RETRIES) throw error;
      }
    }
  }

  /** The results in the order of `commands`; commands on one incident are applied in order. */
  async executeMany(commands: readonly IdentifiedCommand[]): Promise<IncidentResult[]> {
    const results: IncidentResult[] = [];
    for (const wave of waves(commands)) results.push(...await this.#executeWave(wave));
    return results;
  }

  /** Commands on distinct incidents: read together, appended together. */
  async #executeWave(wave: readonly IdentifiedCommand[]): Promise<IncidentResult[]> {
    // One read for all streams: PGlite in a Worker runs queries one at a time, and many
    // issued at once cost more than the same queries in turn.
    const histories = await this.options.store.readStreams(
      wave.map(({ command }) => incidentStreamId(command.data.incidentId)),
    );
    const loaded = histories.map((history) => ({ history, state: stateOf(history) }));
    const decided = wave.map((command, i) => decide(command, loaded[i]));
    const appends = decided.flatMap((d) => d.append === undefined ? [] : [d.append]);
    if (appends.length === 0) return decided.map((d) => d.result);
    try {
      const appended = await this.options.store.appendMany(appends);
      let next = 0;
      return decided.map((d) =>
        d.append === undefined ? d.result : { ...d.result, position: appended[next++].position }
      );
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
      const results: IncidentResult[] = [];
      for (const { command, commandId } of wave) results.push(await this.execute(command, commandId));
      return results;
    }
  }
}

function stateOf(history: readonly StoredEvent[]): IncidentState {
  return history.map(decodeIncidentEvent).reduce(evolveIncident, initialIncident());
}

/** The command's events on the stream as loaded, and what to append for them. */
function decide(
  { command, commandId }: IdentifiedCommand,
  { state, history }: { state: IncidentState; history: StoredEvent[] },
): { result: IncidentResult; append?: StreamAppend } {
  const events = decideIncident(command, state);
  const result = { state: events.reduce(evolveIncident, state), events, position: undefined };
  if (events.length === 0) return { result };
  return {
    result,
    append: {
      streamId: incidentStreamId(command.data.incidentId),
      events: events.map((event, i) => ({
        id: derivedEventId(commandId, i),
        ...event,
        metadata: { ...event.metadata, commandId },
      })),
      expectedRevision: history.length === 0 ? "no_stream" : history.length - 1,
    },
  };
}

/** Runs of commands in order, each run touching an incident at most once. */
function waves(commands: readonly IdentifiedCommand[]): IdentifiedCommand[][] {
  const runs: IdentifiedCommand[][] = [];
  let touched = new Set<string>();
  for (const command of commands) {
    const id = command.command.data.incidentId;
    if (runs.length === 0 || touched.has(id)) {
      runs.push([]);
      touched = new Set();
    }
    touched.add(id);
    runs[runs.length - 1].push(command);
  }
  return runs;
}
