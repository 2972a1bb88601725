import assert from "node:assert/strict";
import {
  decideIncident,
  evolveIncident,
  type IncidentCommand,
  type IncidentEvent,
  type IncidentState,
  initialIncident,
} from "../../domain/alerting/incident.ts";
import { Conflict, NotFound } from "../../domain/errors.ts";

const subject = {
  incidentId: "inc-1",
  tenant: "acme",
  ruleId: "r1",
  ruleName: "cpu_high",
  severity: "page",
  labels: { host: "web-1" },
};
const by = (at: number, who = "evaluator", why = "avg(cpu_usage) = 95 > 90") => ({ who, why, at });
const fire = (level: "critical" | "warning" | "nodata", at: number): IncidentCommand => ({
  type: "FireIncident",
  data: { ...subject, level, value: 95 },
  metadata: by(at),
});
const ack = (at: number): IncidentCommand => ({
  type: "AcknowledgeIncident",
  data: { incidentId: "inc-1" },
  metadata: by(at, "alice", "looking"),
});
const resolve = (at: number): IncidentCommand => ({
  type: "ResolveIncident",
  data: { incidentId: "inc-1", value: 10 },
  metadata: by(at),
});

/** Given the events of earlier commands, when `command`, then these event types. */
function given(commands: IncidentCommand[]): { state: IncidentState; events: IncidentEvent[] } {
  let state = initialIncident();
  const events: IncidentEvent[] = [];
  for (const command of commands) {
    for (const event of decideIncident(command, state)) {
      events.push(event);
      state = evolveIncident(state, event);
    }
  }
  return { state, events };
}

function opened(state: IncidentState): Exclude<IncidentState, { status: "none" }> {
  assert.notEqual(state.status, "none");
  return state as Exclude<IncidentState, { status: "none" }>;
}

Deno.test("incident: the first fire opens and fires", () => {
  const { state, events } = given([fire("critical", 1)]);
  assert.deepEqual(events.map((e) => e.type), ["IncidentOpened", "IncidentFired"]);
  assert.equal(state.status, "firing");
  assert.equal(opened(state).level, "critical");
  assert.equal(opened(state).version, 2);
});

Deno.test("incident: firing again at the same level decides nothing (a replay cannot duplicate)", () => {
  const { state } = given([fire("critical", 1)]);
  assert.deepEqual(decideIncident(fire("critical", 2), state), []);
});

Deno.test("incident: a level change escalates with from and to", () => {
  const { state } = given([fire("warning", 1)]);
  const events = decideIncident(fire("critical", 2), state);
  assert.deepEqual(events.map((e) => [e.type, e.data]), [[
    "IncidentEscalated",
    { incidentId: "inc-1", from: "warning", to: "critical", value: 95 },
  ]]);
});

Deno.test("incident: acknowledge records who and is idempotent; resolve then fire reopens", () => {
  const { state, events } = given([fire("critical", 1), ack(2), ack(3), resolve(4), fire("critical", 5)]);
  assert.deepEqual(events.map((e) => e.type), [
    "IncidentOpened",
    "IncidentFired",
    "IncidentAcknowledged",
    "IncidentResolved",
    "IncidentReopened",
    "IncidentFired",
  ]);
  assert.equal(events[2].metadata.who, "alice");
  assert.equal(state.status, "firing");
  assert.equal(
    opened(state).acknowledged,
    undefined,
    "reopening clears the acknowledgement",
  );
  assert.equal(opened(state).openedAt, 1);
});

Deno.test("incident: resolving twice decides nothing; acknowledging a resolved incident conflicts", () => {
  const { state } = given([fire("nodata", 1), resolve(2)]);
  assert.equal(state.status, "resolved");
  assert.deepEqual(decideIncident(resolve(3), state), []);
  assert.throws(() => decideIncident(ack(3), state), Conflict);
});

Deno.test("incident: acknowledging or resolving an unknown incident is NotFound", () => {
  assert.throws(() => decideIncident(ack(1), initialIncident()), NotFound);
  assert.throws(
    () => decideIncident(resolve(1), initialIncident()),
    /Cannot resolve incident inc-1: no such incident/,
  );
});
