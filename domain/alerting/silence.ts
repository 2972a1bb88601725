/**
 * Silences, as in Alertmanager: label matchers (`=`, `!=`, `=~`, `!~`, regular
 * expressions anchored at both ends) and a time window, with who made it and why. An
 * alert whose labels every matcher accepts is not notified while the silence is active;
 * its transitions are still recorded. A silence's life is its stream in the event
 * store: created, then expired early by a person or at its end.
 *
 * @example
 * const s = silenceMatcher([{ name: "host", value: "web-.*", isRegex: true, isEqual: true }]);
 * s({ host: "web-1" }) // true
 * decideSilence({ type: "ExpireSilence", data: { silenceId, tenant }, metadata }, state)
 */
import { Conflict, NotFound, ValidationError } from "../errors.ts";
import { type Message, unreachable } from "./message.ts";

export interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  /** False for the negated matchers (`!=`, `!~`). */
  readonly isEqual: boolean;
}

export interface SilenceSpec {
  readonly matchers: readonly Matcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
}

export type SilenceStatus = "pending" | "active" | "expired";

export interface Silence extends SilenceSpec {
  readonly id: string;
  readonly tenant: string;
}

type Ref = { silenceId: string; tenant: string };

export type SilenceCommand =
  | Message<"CreateSilence", Ref & SilenceSpec>
  | Message<"ExpireSilence", Ref>;

export type SilenceEvent =
  | Message<"SilenceCreated", Ref & SilenceSpec>
  | Message<"SilenceExpired", Ref & { endsAt: number }>;

export type SilenceState = { readonly status: "absent" } | { readonly status: "present"; silence: Silence };

export function initialSilence(): SilenceState {
  return { status: "absent" };
}

export function silenceStatus(silence: Pick<Silence, "startsAt" | "endsAt">, at: number): SilenceStatus {
  if (at >= silence.endsAt) return "expired";
  return at < silence.startsAt ? "pending" : "active";
}

/** A predicate over alert labels; a missing label matches as the empty string. */
export function silenceMatcher(
  matchers: readonly Matcher[],
): (labels: Readonly<Record<string, string>>) => boolean {
  const tests = matchers.map((m) => {
    const regex = m.isRegex ? compileMatcherRegex(m) : undefined;
    const accepts = regex ? (v: string) => regex.test(v) : (v: string) => v === m.value;
    return (labels: Readonly<Record<string, string>>) => accepts(labels[m.name] ?? "") === m.isEqual;
  });
  return (labels) => tests.every((test) => test(labels));
}

export function compileMatcherRegex(m: Matcher): RegExp {
  try {
    return new RegExp(`^(?:${m.value})$`, "u");
  } catch (error) {
    throw new ValidationError(
      `Cannot accept silence: matcher ${m.name} has an invalid regular expression: ${
        (error as Error).message
      }`,
    );
  }
}

export function decideSilence(command: SilenceCommand, state: SilenceState): SilenceEvent[] {
  const { metadata } = command;
  switch (command.type) {
    case "CreateSilence": {
      if (state.status !== "absent") {
        throw new Conflict(`Cannot create silence ${command.data.silenceId}: it exists`);
      }
      checkSpec(command.data);
      return [{ type: "SilenceCreated", data: command.data, metadata }];
    }
    case "ExpireSilence": {
      if (state.status === "absent" || state.silence.tenant !== command.data.tenant) {
        throw new NotFound(`Cannot expire silence ${command.data.silenceId}: no such silence`);
      }
      if (silenceStatus(state.silence, metadata.at) === "expired") return [];
      return [{ type: "SilenceExpired", data: { ...command.data, endsAt: metadata.at }, metadata }];
    }
    default:
      return unreachable(command);
  }
}

export function evolveSilence(state: SilenceState, event: SilenceEvent): SilenceState {
  switch (event.type) {
    case "SilenceCreated": {
      const { silenceId, ...rest } = event.data;
      return { status: "present", silence: { id: silenceId, ...rest } };
    }
    case "SilenceExpired":
      if (state.status === "absent") return state;
      // Expiring a silence that has not started yet ends it before it begins.
      return {
        status: "present",
        silence: {
          ...state.silence,
          startsAt: Math.min(state.silence.startsAt, event.data.endsAt),
          endsAt: event.data.endsAt,
        },
      };
    default:
      return unreachable(event);
  }
}

function checkSpec(spec: SilenceSpec): void {
  const fail = (reason: string): never => {
    throw new ValidationError(`Cannot accept silence: ${reason}`);
  };
  if (spec.matchers.length === 0) fail("it needs at least one matcher");
  if (!(spec.endsAt > spec.startsAt)) fail("endsAt must be after startsAt");
  for (const m of spec.matchers) if (m.isRegex) compileMatcherRegex(m);
  // A silence that matches every alert (all matchers accept the empty string) would
  // mute a tenant by accident, as Alertmanager also refuses.
  if (silenceMatcher(spec.matchers)({})) fail("its matchers match every alert; add one that needs a label");
}
