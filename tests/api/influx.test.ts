/**
 * Influx line protocol through `app.request()`: the 1.x `/write` with its credentials
 * (Basic auth password or `p`), precisions, gzip, and the replies.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { ACME, GLOBEX, setup, total } from "../support/api-app.ts";

const basic = (user: string, password: string) => ({ authorization: `Basic ${btoa(`${user}:${password}`)}` });

Deno.test("influx 1.x /write: Basic auth or p= name the tenant, precision and gzip apply, reply 204", async () => {
  const { app, pipeline } = await setup();
  try {
    const s = Math.floor(Date.now() / 1000) - 60;
    const sent = await app.request("/write?db=telegraf&precision=s", {
      method: "POST",
      body: gzipSync(`v1_mem,host=a used=1.5 ${s}\nv1_mem,host=b used=2.5 ${s}\n`),
      headers: { ...basic("telegraf", "acme-secret-key"), "content-encoding": "gzip" },
    });
    assert.equal(sent.status, 204, await sent.clone().text());
    const byParam = await app.request(`/write?db=x&u=someone&p=globex-secret-key&precision=ms`, {
      method: "POST",
      body: `v1_mem,host=c used=3 ${s * 1000}`,
    });
    assert.equal(byParam.status, 204, await byParam.clone().text());
    const noKey = await app.request("/write?db=x", { method: "POST", body: `v1_mem used=1` });
    assert.equal(noKey.status, 401);
    const wrongKey = await app.request("/write?db=x", {
      method: "POST",
      body: `v1_mem used=1`,
      headers: basic("acme", "not-a-key"),
    });
    assert.equal(wrongKey.status, 401);
    await pipeline.caughtUp();
    assert.equal(await total(app, ACME, "v1_mem_used"), 2);
    assert.equal(await total(app, GLOBEX, "v1_mem_used"), 1);
  } finally {
    await pipeline.close();
  }
});

Deno.test("influx v2: bad lines get 400 in Influx's error shape while good ones are stored; bad precision 400", async () => {
  const { app, pipeline } = await setup();
  try {
    const ns = `${Date.now() - 1000}000000`;
    const res = await app.request("/api/v2/write?org=o&bucket=b", {
      method: "POST",
      body: `v2_ok v=1 ${ns}\nv2_bad v= ${ns}\nv2_ok,x=y v=2 ${ns}`,
      headers: { authorization: "Token acme-secret-key" },
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.code, "invalid");
    assert.equal(body.message, body.error);
    assert.equal(
      body.message,
      'partial write: 2 samples written, 1 rejected: line 2: field "v" has an empty value',
    );
    const badPrecision = await app.request("/api/v2/write?precision=ps", {
      method: "POST",
      body: `v2_ok v=1`,
      headers: { authorization: "Token acme-secret-key" },
    });
    assert.equal(badPrecision.status, 400);
    assert.match((await badPrecision.json()).detail, /precision "ps" is not one of/);
    await pipeline.caughtUp();
    assert.equal(await total(app, ACME, "v2_ok_v"), 2);
  } finally {
    await pipeline.close();
  }
});
