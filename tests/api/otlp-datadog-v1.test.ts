/**
 * OTLP/HTTP and Datadog v1 through `app.request()`: encodings, partial success in the
 * request's encoding, validation and what ends up queryable.
 */
import assert from "node:assert/strict";
import protobuf from "protobufjs";
import { encodeOtlpRequest } from "../../commands/ingest/otlp-proto.ts";
import { ACME, setup, total } from "../support/api-app.ts";

const Response = protobuf.parse(`syntax = "proto3";
message R { P partial_success = 1; }
message P { int64 rejected_data_points = 1; string error_message = 2; }`).root.lookupType("R");

function otlpBody(points: { name: string; time: string; value: number }[]) {
  return {
    resourceMetrics: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: "api" } }] },
      scopeMetrics: [{
        metrics: points.map((p) => ({
          name: p.name,
          gauge: { dataPoints: [{ timeUnixNano: p.time, asDouble: p.value }] },
        })),
      }],
    }],
  };
}

Deno.test("otlp: JSON and protobuf are accepted; rejected points come back as partial success", async () => {
  const { app, pipeline } = await setup();
  try {
    const now = `${Date.now() - 1000}000000`;
    const body = otlpBody([
      { name: "otlp.ok", time: now, value: 1 },
      { name: "otlp.old", time: "1000000", value: 1 },
    ]);
    const json = await app.request("/v1/metrics", {
      method: "POST",
      body: JSON.stringify(body),
      headers: { ...ACME, "content-type": "application/json" },
    });
    assert.equal(json.status, 200);
    assert.deepEqual(await json.json(), {
      partialSuccess: {
        rejectedDataPoints: "1",
        errorMessage: "point 1 (otlp_old): the only sample is older than the raw retention of 7d",
      },
    });
    const later = `${Date.now() - 500}000000`;
    const protoBody = otlpBody([
      { name: "otlp.ok", time: later, value: 1 },
      { name: "otlp.old", time: "1000000", value: 1 },
    ]);
    const proto = await app.request("/otlp/v1/metrics", {
      method: "POST",
      body: encodeOtlpRequest(protoBody) as Uint8Array<ArrayBuffer>,
      headers: { ...ACME, "content-type": "application/x-protobuf" },
    });
    assert.equal(proto.status, 200);
    assert.equal(proto.headers.get("content-type"), "application/x-protobuf");
    const reply = Response.toObject(Response.decode(new Uint8Array(await proto.arrayBuffer())), {
      longs: Number,
    });
    assert.equal(reply.partialSuccess.rejectedDataPoints, 1);

    const empty = await app.request("/v1/metrics", {
      method: "POST",
      body: JSON.stringify(otlpBody([{ name: "otlp.ok", time: `${Date.now()}000000`, value: 2 }])),
      headers: { ...ACME, "content-type": "application/json" },
    });
    assert.deepEqual(await empty.json(), {}, "nothing rejected: no partial_success");

    const cases: [RequestInit, number][] = [
      [{ body: "{}", headers: { ...ACME, "content-type": "text/plain" } }, 415],
      [{
        body: Uint8Array.from([0x0a, 0xff, 0xff, 0x01]),
        headers: { ...ACME, "content-type": "application/x-protobuf" },
      }, 400],
      [{ body: "{not json", headers: { ...ACME, "content-type": "application/json" } }, 400],
      [{ body: "[]", headers: { ...ACME, "content-type": "application/json" } }, 400],
    ];
    for (const [init, status] of cases) {
      const res = await app.request("/v1/metrics", { method: "POST", ...init });
      assert.equal(res.status, status, String(init.body));
      await res.body?.cancel();
    }
    await pipeline.caughtUp();
    assert.equal(await total(app, ACME, "otlp_ok"), 3);
  } finally {
    await pipeline.close();
  }
});

Deno.test("datadog v1: series with host and tags are stored; bad ones listed; validate answers", async () => {
  const { app, pipeline } = await setup();
  try {
    const now = Math.floor(Date.now() / 1000) - 30;
    const res = await app.request("/api/v1/series", {
      method: "POST",
      body: JSON.stringify({
        series: [
          {
            metric: "v1.load",
            points: [[now, 1.5], [now + 1, 2]],
            host: "web-1",
            tags: ["env:prod"],
            type: "gauge",
          },
          { metric: "v1.load", points: [[now, 1]], type: "distribution" },
          { metric: "v1.load", points: [[now, 1]], host: "web-2", tags: ["host:web-3"] },
        ],
      }),
      headers: ACME,
    });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), {
      status: "ok",
      errors: [
        'series 1 (v1.load): "type" "distribution" is not "gauge", "rate" or "count"',
        'series 2 (v1.load): label "host" is given twice with different values ("web-3" and "web-2")',
      ],
    });
    const validate = await app.request("/api/v1/validate", { headers: ACME });
    assert.deepEqual(await validate.json(), { valid: true });
    assert.equal((await app.request("/api/v1/validate")).status, 401);
    await pipeline.caughtUp();
    assert.equal(await total(app, ACME, "v1_load"), 2);
  } finally {
    await pipeline.close();
  }
});
