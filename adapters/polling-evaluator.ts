/**
 * Runs polling evaluation: every `intervalMs` (aligned to the interval) it loads the
 * polling rules from SQL, reads each rule's window from the 1m rollups and hands each
 * transition to `record` (the incident commands, whose event ids derive from the
 * transition, as for the streaming evaluator). One rule failing to evaluate (a query
 * error) is reported and does not stop the others.
 *
 * After a restart, a group with an open incident starts as firing from the incident's
 * opening, so it is not fired again; a pending group starts over (its `for` is counted
 * again from the next evaluation).
 *
 * @example
 * const poller = new PollingEvaluator({ store, loadRules, openIncidents, record, now: Date.now, intervalMs: 60_000 });
 * void poller.start();
 */
import type { AnalyticsStore } from "../domain/ports/analytics-store.ts";
import { initialGroupState } from "../domain/alerting/alert-state.ts";
import type { IncidentLevel } from "../domain/alerting/incident.ts";
import { PollingEvaluation, pollingWindow } from "../domain/alerting/polling-evaluation.ts";
import type { AlertRule } from "../domain/alerting/rule.ts";
import type { GroupTransition } from "../domain/alerting/streaming-evaluation.ts";
import { ruleWindow } from "../read-models/rule-window.ts";
import { WakeableSleep } from "./wakeable-sleep.ts";

export interface OpenIncident {
  readonly ruleId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly level: IncidentLevel;
  readonly openedAt: number;
}

export interface PollingEvaluatorOptions {
  readonly store: AnalyticsStore;
  readonly loadRules: () => Promise<AlertRule[]>;
  readonly openIncidents: () => Promise<OpenIncident[]>;
  /** The transitions of one rule's evaluation, in the order they were decided. */
  readonly record: (transitions: readonly GroupTransition[]) => Promise<void>;
  readonly now: () => number;
  readonly intervalMs: number;
  readonly onError?: (error: unknown) => void;
}

export class PollingEvaluator {
  readonly #abort = new AbortController();
  readonly #evaluation = new PollingEvaluation();
  readonly #sleep = new WakeableSleep();
  #running?: Promise<void>;

  constructor(private readonly options: PollingEvaluatorOptions) {}

  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#sleep.wake();
    await this.#running;
  }

  async #run(): Promise<void> {
    let restored = false;
    while (!this.#abort.signal.aborted) {
      try {
        const rules = await this.options.loadRules();
        this.#evaluation.setRules(rules);
        if (!restored) restored = await this.#restore(rules);
        const { intervalMs } = this.options;
        const at = Math.floor(this.options.now() / intervalMs) * intervalMs;
        for (const rule of rules) await this.#evaluate(rule, at);
      } catch (error) {
        this.options.onError?.(error);
      }
      await this.#sleepUntilNext();
    }
  }

  async #restore(rules: readonly AlertRule[]): Promise<boolean> {
    const byId = new Map(rules.map((r) => [r.id, r]));
    for (const incident of await this.options.openIncidents()) {
      const rule = byId.get(incident.ruleId);
      if (rule === undefined || incident.level === "nodata") continue;
      this.#evaluation.restore(rule, incident.labels, {
        ...initialGroupState(incident.openedAt),
        status: "firing",
        level: incident.level,
        activeSince: incident.openedAt,
      });
    }
    return true;
  }

  async #evaluate(rule: AlertRule, at: number): Promise<void> {
    try {
      const { from, to } = pollingWindow(rule, at);
      const groups = await ruleWindow(this.options.store, rule.tenant, rule, from, to);
      const transitions = this.#evaluation.step(rule, at, groups);
      if (transitions.length > 0) await this.#record(transitions);
    } catch (error) {
      this.options.onError?.(new Error(`Cannot evaluate polling rule ${rule.id}: ${error}`));
    }
  }

  /** Transitions are decided once; recording them is retried until they land or the evaluator stops. */
  async #record(transitions: readonly GroupTransition[]): Promise<void> {
    for (let attempt = 0;; attempt++) {
      try {
        return await this.options.record(transitions);
      } catch (error) {
        this.options.onError?.(error);
        if (this.#abort.signal.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 50 * 2 ** attempt)));
      }
    }
  }

  #sleepUntilNext(): Promise<void> {
    const { intervalMs } = this.options;
    const now = this.options.now();
    return this.#sleep.for(Math.max(1, (Math.floor(now / intervalMs) + 1) * intervalMs - now));
  }
}
