/**
 * Keeps the SQL read models of the event store up to date (the rules tables from rule
 * streams, the incidents table from incident streams, the silences table from silence
 * streams): resumes from the checkpoint
 * stored beside the tables, subscribes to the event store after it and applies each
 * event with the checkpoint in one transaction. `projected(position)`
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

export interface ReadModelProjectorOptions {
  /** Name of the checkpoint row. */
  readonly name?: string;
  readonly onError?: (error: unknown, event: StoredEvent) => void;
  /** Runs in the transaction that projects an incident event (the notification outbox). */
  readonly withIncident?: (tx: Db, stored: StoredEvent, event: IncidentEvent) => Promise<void>;
  /** Called after each incident event is committed. */
  readonly afterIncident?: () => void;
}

export class ReadModelProjector {
  readonly #abort = new AbortController();
  readonly #waiters = new Set<{ position: Position; resolve: () => void }>();
  readonly #name: string;
  #position: Position = -1n;
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
    return this.#position;
  }

  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    for (const waiter of this.#waiters) waiter.resolve();
    await this.#running?.catch(() => {});
  }

  /** Resolves once every event up to `position` is in the table, or after `timeoutMs`. */
  projected(position: Position, timeoutMs = 5_000): Promise<boolean> {
    if (this.#position >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(this.#position >= position);
        },
      };
      const timer = setTimeout(waiter.resolve, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  async #run(): Promise<void> {
    const checkpoint = await readCheckpoint(this.db, this.#name);
    if (checkpoint !== undefined) this.#reached(checkpoint);
    const events$ = from(this.store.subscribe({ after: checkpoint, signal: this.#abort.signal }));
    const onError = this.options.onError ??
      ((error, event) => console.error(`read-model projection at ${event.position}: ${error}`));
    await lastValueFrom(
      rulesProjection(events$, { apply: (event) => this.#apply(event), onError }).pipe(
        tap((position) => this.#reached(position)),
      ),
      { defaultValue: undefined },
    );
  }

  async #apply(stored: StoredEvent): Promise<void> {
    const checkpoint = { name: this.#name, position: stored.position };
    if (RULE_EVENT_TYPES.has(stored.type)) {
      const event = decodeRuleEvent(stored);
      await this.db.transaction(async (tx) => {
        await applyRuleEvent(tx, event, stored.revision);
        await saveCheckpoint(tx, checkpoint);
      });
    } else if (INCIDENT_EVENT_TYPES.has(stored.type)) {
      const event = decodeIncidentEvent(stored);
      await this.db.transaction(async (tx) => {
        await applyIncidentEvent(tx, event, stored.revision);
        await this.options.withIncident?.(tx, stored, event);
        await saveCheckpoint(tx, checkpoint);
      });
      this.options.afterIncident?.();
    } else if (SILENCE_EVENT_TYPES.has(stored.type)) {
      const event = decodeSilenceEvent(stored);
      await this.db.transaction(async (tx) => {
        await applySilenceEvent(tx, event);
        await saveCheckpoint(tx, checkpoint);
      });
    }
  }

  #reached(position: Position): void {
    if (position > this.#position) this.#position = position;
    for (const waiter of this.#waiters) if (waiter.position <= this.#position) waiter.resolve();
  }
}
