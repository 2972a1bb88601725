/** Silence matchers (the four Alertmanager matcher types) and the silence decider as step tables. */
import assert from "node:assert/strict";
import {
  decideSilence,
  evolveSilence,
  initialSilence,
  type Matcher,
  silenceMatcher,
  silenceStatus,
} from "../../domain/alerting/silence.ts";
import { NotFound, ValidationError } from "../../domain/errors.ts";

const m = (name: string, value: string, isRegex: boolean, isEqual: boolean): Matcher => ({
  name,
  value,
  isRegex,
  isEqual,
});

Deno.test("silence matchers: =, !=, =~ and !~, regexes anchored at both ends, missing labels empty", () => {
  const cases: [Matcher, Record<string, string>, boolean][] = [
    [m("host", "web-1", false, true), { host: "web-1" }, true],
    [m("host", "web-1", false, true), { host: "web-10" }, false],
    [m("host", "web-1", false, false), { host: "web-2" }, true],
    [m("host", "web-1", false, false), { host: "web-1" }, false],
    [m("host", "web-.*", true, true), { host: "web-7" }, true],
    [m("host", "web", true, true), { host: "web-7" }, false],
    [m("host", "db-.*", true, false), { host: "web-7" }, true],
    [m("host", "db-.*", true, false), { host: "db-1" }, false],
    [m("zone", "", false, true), { host: "web-1" }, true],
  ];
  for (const [matcher, labels, expected] of cases) {
    assert.equal(
      silenceMatcher([matcher])(labels),
      expected,
      `${JSON.stringify(matcher)} on ${JSON.stringify(labels)}`,
    );
  }
  assert.equal(
    silenceMatcher([m("alertname", "cpu_high", false, true), m("host", "web-1", false, true)])({
      alertname: "cpu_high",
      host: "web-2",
    }),
    false,
  );
});

const at = Date.parse("2026-12-01T21:00:00Z");
const spec = {
  silenceId: "s1",
  tenant: "acme",
  matchers: [m("host", "web-1", false, true)],
  startsAt: at,
  endsAt: at + 3_600_000,
  createdBy: "ana",
  comment: "maintenance of web-1",
};
const meta = (t: number) => ({ who: "acme/ana", why: "maintenance of web-1", at: t });

Deno.test("silence decider: create, refuse bad windows and match-all matchers, expire early once", () => {
  const created = decideSilence({ type: "CreateSilence", data: spec, metadata: meta(at) }, initialSilence());
  assert.deepEqual(created.map((e) => e.type), ["SilenceCreated"]);
  const state = created.reduce(evolveSilence, initialSilence());
  assert.equal(state.status === "present" && silenceStatus(state.silence, at + 1), "active");
  assert.throws(
    () =>
      decideSilence(
        { type: "CreateSilence", data: { ...spec, endsAt: at }, metadata: meta(at) },
        initialSilence(),
      ),
    (e) => e instanceof ValidationError && /endsAt must be after startsAt/.test(e.message),
  );
  assert.throws(
    () =>
      decideSilence({
        type: "CreateSilence",
        data: { ...spec, matchers: [m("host", ".*", true, true)] },
        metadata: meta(at),
      }, initialSilence()),
    (e) => e instanceof ValidationError && /match every alert/.test(e.message),
  );
  assert.throws(
    () =>
      decideSilence({
        type: "CreateSilence",
        data: { ...spec, matchers: [m("host", "(", true, true)] },
        metadata: meta(at),
      }, initialSilence()),
    (e) => e instanceof ValidationError && /invalid regular expression/.test(e.message),
  );
  const expire = {
    type: "ExpireSilence" as const,
    data: { silenceId: "s1", tenant: "acme" },
    metadata: meta(at + 60_000),
  };
  const expired = decideSilence(expire, state).reduce(evolveSilence, state);
  assert.equal(expired.status === "present" && silenceStatus(expired.silence, at + 60_000), "expired");
  assert.deepEqual(decideSilence(expire, expired), [], "expiring twice records nothing");
  assert.throws(
    () => decideSilence({ ...expire, data: { silenceId: "s1", tenant: "globex" } }, state),
    NotFound,
    "another tenant's silence does not exist",
  );
});
