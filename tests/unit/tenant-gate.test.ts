import assert from "node:assert/strict";
import { LimitExceeded } from "../../domain/errors.ts";
import { TenantGate } from "../../read-models/promql/tenant-gate.ts";

function pending() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => release = resolve);
  return { done, release };
}

Deno.test("tenant gate: a tenant at its limit is refused while other tenants still run", async () => {
  // given acme running two slow queries with a limit of two
  const gate = new TenantGate({ maxConcurrent: 2 });
  const slow = [pending(), pending()];
  const acme = slow.map((p) => gate.run("acme", () => p.done));
  // when acme sends a third, and globex one
  await assert.rejects(
    gate.run("acme", () => Promise.resolve()),
    (e) => e instanceof LimitExceeded && /limit is 2/.test(e.message),
  );
  const globex = await gate.run("globex", () => Promise.resolve("answered"));
  // then globex was answered at once and acme's share frees as its queries finish
  assert.equal(globex, "answered");
  assert.equal(gate.running("acme"), 2);
  slow[0].release();
  await acme[0];
  assert.equal(await gate.run("acme", () => Promise.resolve(3)), 3);
  slow[1].release();
  await acme[1];
  assert.equal(gate.running("acme"), 0);
});

Deno.test("tenant gate: a failing query gives its slot back", async () => {
  const gate = new TenantGate({ maxConcurrent: 1 });
  await assert.rejects(gate.run("acme", () => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(gate.running("acme"), 0);
  assert.equal(await gate.run("acme", () => Promise.resolve("ok")), "ok");
});
