/**
 * zod schemas at the edges of silences: the HTTP body (Alertmanager's
 * `{"matchers":[{"name","value","isRegex","isEqual"}],"startsAt","endsAt","createdBy","comment"}`,
 * times as RFC 3339) and silence events as decoded from the event store.
 *
 * @example
 * const spec = parseSilenceSpec(await c.req.json(), now);
 */
import { z } from "zod";
import { decodeStored } from "../stored-event.ts";
import { ValidationError } from "../../domain/errors.ts";
import { isValidLabelName } from "../../domain/label-rules.ts";
import type { SilenceEvent, SilenceSpec } from "../../domain/alerting/silence.ts";
import type { StoredEvent } from "../../domain/ports/event-store.ts";

const MatcherSchema = z.object({
  name: z.string().refine(isValidLabelName, "must be a label name such as host"),
  value: z.string().max(1024),
  isRegex: z.boolean().default(false),
  isEqual: z.boolean().default(true),
}).strict();

const Instant = z.iso.datetime({
  offset: true,
  error: "must be an RFC 3339 time such as 2026-12-01T21:00:00Z",
});

const SilenceBody = z.object({
  matchers: z.array(MatcherSchema).min(1, "needs at least one matcher").max(32),
  startsAt: Instant.optional(),
  endsAt: Instant,
  createdBy: z.string().min(1).max(256),
  comment: z.string().min(1, "says why the silence is needed").max(4096),
}).strict();

/** The body of `POST /v1/silences`; a missing `startsAt` is `now`. */
export function parseSilenceSpec(input: unknown, now: number): SilenceSpec {
  const result = SilenceBody.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ValidationError(`Cannot accept silence: ${issue.path.join(".") || "body"}: ${issue.message}`);
  }
  const { startsAt, endsAt, ...rest } = result.data;
  return {
    ...rest,
    startsAt: startsAt === undefined ? now : Date.parse(startsAt),
    endsAt: Date.parse(endsAt),
  };
}

const Metadata = z.object({ who: z.string(), why: z.string(), at: z.number() }).passthrough();
const Ref = { silenceId: z.string(), tenant: z.string() };
const StoredSilenceEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("SilenceCreated"),
    data: z.object({
      ...Ref,
      matchers: z.array(MatcherSchema),
      startsAt: z.number(),
      endsAt: z.number(),
      createdBy: z.string(),
      comment: z.string(),
    }),
    metadata: Metadata,
  }),
  z.object({
    type: z.literal("SilenceExpired"),
    data: z.object({ ...Ref, endsAt: z.number() }),
    metadata: Metadata,
  }),
]);

export const SILENCE_EVENT_TYPES: ReadonlySet<string> = new Set(["SilenceCreated", "SilenceExpired"]);

export function decodeSilenceEvent(stored: StoredEvent): SilenceEvent {
  return decodeStored(StoredSilenceEvent, stored, "silence") as SilenceEvent;
}
