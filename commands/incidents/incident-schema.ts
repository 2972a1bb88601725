/**
 * Incident events as decoded from the event store (stored JSON is input, so it is
 * validated here), and the set of their types.
 */
import { z } from "zod";
import { decodeStored } from "../stored-event.ts";
import type { IncidentEvent } from "../../domain/alerting/incident.ts";
import type { StoredEvent } from "../../domain/ports/event-store.ts";

const Metadata = z.object({ who: z.string(), why: z.string(), at: z.number() }).passthrough();
const Level = z.enum(["critical", "warning", "nodata"]);
// JSON has no ±Infinity or NaN: such a value is stored as null and read back as absent.
const Value = z.number().nullish().transform((v) => v ?? undefined);
const Id = { incidentId: z.string() };
const Subject = z.object({
  ...Id,
  tenant: z.string(),
  ruleId: z.string(),
  ruleName: z.string(),
  severity: z.string(),
  labels: z.record(z.string(), z.string()),
});

const StoredIncidentEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("IncidentOpened"), data: Subject, metadata: Metadata }),
  z.object({
    type: z.literal("IncidentFired"),
    data: z.object({
      ...Id,
      level: Level,
      value: Value,
      annotations: z.record(z.string(), z.string()).optional(),
    }),
    metadata: Metadata,
  }),
  z.object({
    type: z.literal("IncidentEscalated"),
    data: z.object({ ...Id, from: Level, to: Level, value: Value }),
    metadata: Metadata,
  }),
  z.object({ type: z.literal("IncidentAcknowledged"), data: z.object(Id), metadata: Metadata }),
  z.object({
    type: z.literal("IncidentResolved"),
    data: z.object({ ...Id, value: Value }),
    metadata: Metadata,
  }),
  z.object({ type: z.literal("IncidentReopened"), data: z.object(Id), metadata: Metadata }),
]);

export const INCIDENT_EVENT_TYPES: ReadonlySet<string> = new Set(
  StoredIncidentEvent.options.map((option) => option.shape.type.value),
);

export function decodeIncidentEvent(stored: StoredEvent): IncidentEvent {
  return decodeStored(StoredIncidentEvent, stored, "incident") as IncidentEvent;
}
