/**
 * Executes silence commands against the silence's stream: read, decide, append at the
 * revision read (a concurrent change is a `Conflict`). Event ids derive from the
 * command id, so a retried request records nothing twice.
 *
 * @example
 * const silences = new SilenceCommands({ store });
 * const { position } = await silences.execute(command, crypto.randomUUID());
 */
import {
  decideSilence,
  evolveSilence,
  initialSilence,
  type SilenceCommand,
  type SilenceEvent,
  type SilenceState,
} from "../../domain/alerting/silence.ts";
import type { EventStore, Position } from "../../domain/ports/event-store.ts";
import { derivedEventId } from "../rules/rule-commands.ts";
import { decodeSilenceEvent } from "./silence-schema.ts";

export function silenceStreamId(silenceId: string): string {
  return `silence-${silenceId}`;
}

export class SilenceCommands {
  constructor(private readonly options: { readonly store: EventStore }) {}

  async history(silenceId: string): Promise<{ history: SilenceEvent[] }> {
    return {
      history: (await this.options.store.readStream(silenceStreamId(silenceId))).map(decodeSilenceEvent),
    };
  }

  async load(silenceId: string): Promise<{ state: SilenceState; revision: number }> {
    const { history } = await this.history(silenceId);
    return { state: history.reduce(evolveSilence, initialSilence()), revision: history.length - 1 };
  }

  async execute(
    command: SilenceCommand,
    commandId: string,
  ): Promise<{ state: SilenceState; position: Position | undefined }> {
    const { state, revision } = await this.load(command.data.silenceId);
    const events = decideSilence(command, state);
    if (events.length === 0) return { state, position: undefined };
    const result = await this.options.store.append(
      silenceStreamId(command.data.silenceId),
      events.map((event, i) => ({
        id: derivedEventId(commandId, i),
        type: event.type,
        data: event.data,
        metadata: { ...event.metadata, commandId },
      })),
      { expectedRevision: revision < 0 ? "no_stream" : revision },
    );
    return { state: events.reduce(evolveSilence, state), position: result.position };
  }
}
