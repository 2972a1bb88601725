/**
 * Decoding events read back from the event store: stored JSON is input like any other,
 * so it is checked against the event's schema, and a malformed event is a
 * `ValidationError` that names its position.
 *
 * @example
 * const event = decodeStored(StoredRuleEvent, stored, "rule") as RuleEvent;
 */
import type { z } from "zod";
import { ValidationError } from "../domain/errors.ts";
import type { StoredEvent } from "../domain/ports/event-store.ts";

export function decodeStored<T>(schema: z.ZodType<T>, stored: StoredEvent, what: string): T {
  const result = schema.safeParse(stored);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ValidationError(
    `Cannot read ${what} event at position ${stored.position}: ${issue.path.join(".")}: ${issue.message}`,
  );
}
