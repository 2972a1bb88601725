/**
 * Executes rule commands: the command is decided against the rule's stream and its
 * events appended at the revision the decision saw; a concurrent change makes that
 * append fail with `Conflict`, so of two edits at one version exactly one wins. The
 * accepted command, with the version it produced, is then appended to the log topic
 * `metrics.commands`, where evaluators learn that a rule changed and wait for the
 * rules table to reach that version before reloading. (A crash between the two leaves
 * evaluators to pick the change up when they next reload from SQL.)
 *
 * Event ids are derived from the command id, so a retried command that had already
 * been recorded appends nothing.
 *
 * @example
 * const rules = new RuleCommands({ log, topic: "metrics.commands", store });
 * const { state, position } = await rules.execute(command, crypto.randomUUID());
 */
import { createHash } from "node:crypto";
import {
  evolveRule,
  initialRule,
  type RuleCommand,
  type RuleState,
} from "../../domain/alerting/rule-stream.ts";
import { decideRule } from "../../domain/alerting/rule-stream.ts";
import type { CommandLog } from "../../domain/ports/command-log.ts";
import type { EventStore, NewEvent, Position } from "../../domain/ports/event-store.ts";
import { decodeRuleEvent } from "./rule-schema.ts";

export interface RuleCommandsOptions {
  readonly log: CommandLog;
  readonly topic: string;
  readonly store: EventStore;
}

export interface RuleCommandResult {
  readonly state: RuleState;
  /** Position of the last event recorded; the rules table has caught up once it reaches it. */
  readonly position: Position | undefined;
}

export function ruleStreamId(ruleId: string): string {
  return `rule-${ruleId}`;
}

export class RuleCommands {
  constructor(private readonly options: RuleCommandsOptions) {}

  async load(ruleId: string): Promise<{ state: RuleState; revision: number }> {
    const history = await this.options.store.readStream(ruleStreamId(ruleId));
    return {
      state: history.map(decodeRuleEvent).reduce(evolveRule, initialRule()),
      revision: history.length - 1,
    };
  }

  async execute(command: RuleCommand, commandId: string): Promise<RuleCommandResult> {
    const { log, topic, store } = this.options;
    const { state, revision } = await this.load(command.data.ruleId);
    const events = decideRule(command, state);
    if (events.length === 0) return { state, position: undefined };
    const stored: NewEvent[] = events.map((event, i) => ({
      id: derivedEventId(commandId, i),
      type: event.type,
      data: event.data,
      metadata: { ...event.metadata, commandId },
    }));
    const result = await store.append(ruleStreamId(command.data.ruleId), stored, {
      expectedRevision: revision < 0 ? "no_stream" : revision,
    });
    const next = events.reduce(evolveRule, state);
    const version = next.status === "absent" ? 0 : next.version;
    const record = { ...command, metadata: { ...command.metadata, commandId }, version };
    await log.append(topic, [{
      partition: 0,
      key: command.data.ruleId,
      value: new TextEncoder().encode(JSON.stringify(record)),
    }], { idempotencyKey: commandId });
    return { state: next, position: result.position };
  }
}

/** A UUID (version 8, name-based) from the command id and the event's index in its decision. */
export function derivedEventId(commandId: string, index: number): string {
  const hex = createHash("sha256").update(`${commandId}\u0000${index}`).digest("hex");
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${
    hex.slice(20, 32)
  }`;
}
