/**
 * Keeps the SQL read models of the event store up to date (the rules tables from rule
 * streams, the incidents table from incident streams, the silences table from silence
 * streams): resumes from the checkpoint
 * stored beside the tables, subscribes to the event store after it and applies each
 * event with the checkpoint in one transaction (or, when events pile up, each batch of
 * them: see `rulesProjection`). `projected(position)`
 * lets a request wait until its own change is visible in the table (read your writes).
 *
 * @example
 * const projector = new ReadModelProjector(store, sql.drizzle);
 * void projector.start();
 * await projector.projected(result.position);
 */
import { from, lastValueFrom, tap } from "rxjs";
import type { EventStore, Position, StoredEvent } from "../domain/ports/event-store.ts";
import type { IncidentEvent } from "../domain/alerting/incident.ts";
import { decodeRuleEvent, RULE_EVENT_TYPES } from "../commands/rules/rule-schema.ts";
import { decodeIncidentEvent, INCIDENT_EVENT_TYPES } from "../commands/incidents/incident-schema.ts";
import { applyRuleEvent, type Db, readCheckpoint, saveCheckpoint } from "../read-models/rules-table.ts";
import { applyIncidentEvent } from "../read-models/incidents-table.ts";
import { rulesProjection } from "../projections/rules.ts";
import { decodeSilenceEvent, SILENCE_EVENT_TYPES } from "../commands/silences/silence-schema.ts";
import { applySilenceEvent } from "../read-models/silences-table.ts";
import { ProjectedPosition } from "./projected-position.ts";

export interface ReadModelProjectorOptions {
  /** Name of the checkpoint row. */
  readonly name?: string;
  readonly onError?: (error: unknown, event: StoredEvent) => void;
  /** Runs in the transaction that projects an incident event (the notification outbox). */
  readonly withIncident?: (tx: Db, stored: StoredEvent, event: IncidentEvent) => Promise<void>;
  /** Called after each incident event is committed. */
  readonly afterIncident?: () => void;
  /** Told each new position reached (where `projected` is asked on another thread). */
  readonly onProjected?: (position: Position) => void;
}

export class ReadModelProjector {
  readonly #abort = new AbortController();
  readonly #reachedAt = new ProjectedPosition();
  readonly #name: string;
  #running?: Promise<void>;

  constructor(
    private readonly store: EventStore,
    private readonly db: Db,
    private readonly options: ReadModelProjectorOptions = {},
  ) {
    this.#name = options.name ?? "rules";
  }

  /** Position of the last event applied (or passed over). */
  get position(): Position {
    return this.#reachedAt.position;
  }

  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#reachedAt.release();
    await this.#running?.catch(() => {});
  }

  /** Resolves once every event up to `position` is in the table, or after `timeoutMs`. */
  projected(position: Position, timeoutMs = 5_000): Promise<boolean> {
    return this.#reachedAt.projected(position, timeoutMs);
  }

  async #run(): Promise<void> {
    const checkpoint = await readCheckpoint(this.db, this.#name);
    if (checkpoint !== undefined) this.#reached(checkpoint);
    const events$ = from(this.store.subscribe({ after: checkpoint, signal: this.#abort.signal }));
    const onError = this.options.onError ??
      ((error, event) => console.error(`read-model projection at ${event.position}: ${error}`));
    await lastValueFrom(
      rulesProjection(events$, {
        apply: (event) => this.#applyMany([event]),
        applyMany: (events) => this.#applyMany(events),
        onError,
      }).pipe(
        tap((position) => this.#reached(position)),
      ),
      { defaultValue: undefined },
    );
  }

  /** The events and the checkpoint after the last of them in one transaction. */
  async #applyMany(events: readonly StoredEvent[]): Promise<void> {
    const checkpoint = { name: this.#name, position: events[events.length - 1].position };
    const incidents = await this.db.transaction(async (tx) => {
      let incidents = 0;
      for (const stored of events) if (await this.#applyIn(tx, stored)) incidents++;
      await saveCheckpoint(tx, checkpoint);
      return incidents;
    });
    if (incidents > 0) this.options.afterIncident?.();
  }

  /** Applies one event inside `tx`; true when it was an incident event. */
  async #applyIn(tx: Db, stored: StoredEvent): Promise<boolean> {
    if (RULE_EVENT_TYPES.has(stored.type)) {
      await applyRuleEvent(tx, decodeRuleEvent(stored), stored.revision);
    } else if (INCIDENT_EVENT_TYPES.has(stored.type)) {
      const event = decodeIncidentEvent(stored);
      await applyIncidentEvent(tx, event, stored.revision);
      await this.options.withIncident?.(tx, stored, event);
      return true;
    } else if (SILENCE_EVENT_TYPES.has(stored.type)) {
      await applySilenceEvent(tx, decodeSilenceEvent(stored));
    }
    return false;
  }

  #reached(position: Position): void {
    if (this.#reachedAt.advance(position)) this.options.onProjected?.(position);
  }
}
