/**
 * The admin API through `app.request()`: off (404) without a token, 401 for a missing
 * or wrong token and for a tenant's key, 400 with the reason for a body that names no
 * model, 409 for a model whose projector this process does not run, and 404 for the
 * progress of a rebuild that never ran.
 */
import assert from "node:assert/strict";
import { createApp } from "../../adapters/http/app.ts";
import { TenantDirectory } from "../../adapters/http/tenants.ts";
import { Telemetry } from "../../adapters/telemetry.ts";
import { ReadModelRebuilds } from "../../adapters/read-model-rebuild.ts";
import { openPipeline, type Pipeline, TOPIC } from "../support/pipeline.ts";

const TOKEN = "admin-api-token-0c93b1";

const pipelines: Pipeline[] = [];

async function app(token: string | undefined) {
  const pipeline = await openPipeline();
  pipelines.push(pipeline);
  const rebuilds = new ReadModelRebuilds({
    log: pipeline.log,
    store: pipeline.store,
    topic: TOPIC,
    models: {},
  });
  return createApp({
    tenants: TenantDirectory.fromSpec("acme:acme-admin-test-key"),
    telemetry: new Telemetry(),
    ready: () => true,
    logError: () => {},
    admin: { token, rebuilds },
  });
}

const post = (body: string, authorization?: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
  body,
});

Deno.test("admin API: off without a token, refuses wrong tokens and tenant keys, validates the model", async () => {
  try {
    await cases();
  } finally {
    for (const pipeline of pipelines) await pipeline.close();
  }
});

async function cases(): Promise<void> {
  const off = await app(undefined);
  const res = await off.request("/v1/admin/rebuild", post('{"model":"rollup"}', `Bearer ${TOKEN}`));
  assert.equal(res.status, 404);
  assert.match(await res.text(), /LOOKOUT_ADMIN_TOKEN/);

  const on = await app(TOKEN);
  for (
    const authorization of [undefined, "Bearer wrong-token-of-some-length", "Bearer acme-admin-test-key"]
  ) {
    assert.equal(
      (await on.request("/v1/admin/rebuild", post('{"model":"rollup"}', authorization))).status,
      401,
    );
  }
  const bad = await on.request("/v1/admin/rebuild", post('{"model":"alerts"}', `Bearer ${TOKEN}`));
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).detail, /model/);
  const notJson = await on.request("/v1/admin/rebuild", post("{", `Bearer ${TOKEN}`));
  assert.equal(notJson.status, 400);
  const missing = await on.request("/v1/admin/rebuild", post('{"model":"raw"}', `Bearer ${TOKEN}`));
  assert.equal(missing.status, 409);
  assert.match((await missing.json()).detail, /does not run the raw projector/);
  const progress = await on.request("/v1/admin/rebuild", { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(progress.status, 404);
}
