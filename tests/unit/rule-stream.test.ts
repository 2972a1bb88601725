import assert from "node:assert/strict";
import {
  decideRule,
  evolveRule,
  initialRule,
  type RuleCommand,
  type RuleState,
} from "../../domain/alerting/rule-stream.ts";
import { Conflict, NotFound, ValidationError } from "../../domain/errors.ts";
import { cpuHighSpec } from "../support/rule-spec.ts";

const metadata = { who: "alice", why: "page on CPU", at: 1 };
const ref = { ruleId: "r1", tenant: "acme" };
const create: RuleCommand = { type: "CreateRule", data: { ...ref, spec: cpuHighSpec() }, metadata };

function apply(state: RuleState, command: RuleCommand): RuleState {
  return decideRule(command, state).reduce(evolveRule, state);
}

Deno.test("rule stream: create, update at the current version, delete", () => {
  let state = apply(initialRule(), create);
  assert.equal(state.status === "active" && state.version, 1);
  const spec = cpuHighSpec({ for: "1m" });
  state = apply(state, { type: "UpdateRule", data: { ...ref, spec, expectedVersion: 1 }, metadata });
  assert.equal(state.status === "active" && state.spec.for, "1m");
  state = apply(state, { type: "DeleteRule", data: { ...ref, expectedVersion: 2 }, metadata });
  assert.equal(state.status, "deleted");
  assert.equal(state.status === "deleted" && state.version, 3);
});

Deno.test("rule stream: a stale version conflicts and says which version is current", () => {
  const state = apply(apply(initialRule(), create), {
    type: "UpdateRule",
    data: { ...ref, spec: cpuHighSpec(), expectedVersion: 1 },
    metadata,
  });
  assert.throws(
    () =>
      decideRule(
        { type: "UpdateRule", data: { ...ref, spec: cpuHighSpec(), expectedVersion: 1 }, metadata },
        state,
      ),
    (e) => e instanceof Conflict && /at version 2, not 1/.test(e.message),
  );
  assert.throws(() => decideRule(create, state), Conflict);
});

Deno.test("rule stream: another tenant's rule and a deleted rule do not exist", () => {
  const state = apply(initialRule(), create);
  const foreign: RuleCommand = {
    type: "DeleteRule",
    data: { ruleId: "r1", tenant: "globex", expectedVersion: 1 },
    metadata,
  };
  assert.throws(() => decideRule(foreign, state), NotFound);
  const deleted = apply(state, { type: "DeleteRule", data: { ...ref, expectedVersion: 1 }, metadata });
  assert.throws(
    () =>
      decideRule(
        { type: "UpdateRule", data: { ...ref, spec: cpuHighSpec(), expectedVersion: 2 }, metadata },
        deleted,
      ),
    NotFound,
  );
});

Deno.test("rule stream: an inconsistent rule is refused with the reason", () => {
  const bad = cpuHighSpec({ condition: { op: ">", critical: 90, criticalRecovery: 95 } });
  assert.throws(
    () => decideRule({ type: "CreateRule", data: { ...ref, spec: bad }, metadata }, initialRule()),
    (e) =>
      e instanceof ValidationError &&
      e.message ===
        'Cannot accept rule "cpu_high": condition.criticalRecovery 95 must not be above critical 90',
  );
});
