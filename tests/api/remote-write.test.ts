/**
 * `POST /api/v1/write` through `app.request()`: versions by content type, snappy and
 * its limits, replies and their headers, and what ends up queryable.
 */
import assert from "node:assert/strict";
import * as snappyWasm from "snappy-wasm";
import { ACME, GLOBEX, setup, total } from "../support/api-app.ts";
import { encodeRequestV2, encodeWriteRequestV1, series, toRequestV2 } from "../support/remote-write-proto.ts";

await (snappyWasm as unknown as { default: () => Promise<unknown> }).default();

const V1 = "application/x-protobuf";
const V2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

function post(body: Uint8Array, contentType: string, headers: Record<string, string> = ACME) {
  return {
    method: "POST",
    body: body as Uint8Array<ArrayBuffer>,
    headers: { ...headers, "content-type": contentType, "content-encoding": "snappy" },
  };
}

Deno.test("remote write: 1.0 and 2.0 bodies are written and queryable; replies carry the written counts", async () => {
  const { app, pipeline } = await setup();
  try {
    const now = Date.now();
    const sent = [
      series("rw_up", { job: "node", instance: "a:9100" }, [[now - 2000, 1], [now - 1000, 1]]),
      series("rw_up", { job: "node", instance: "b:9100" }, [[now - 1000, 1]]),
    ];
    const v1 = await app.request(
      "/api/v1/write",
      post(snappyWasm.compress_raw(encodeWriteRequestV1({ timeseries: sent })), V1),
    );
    assert.equal(v1.status, 204, await v1.clone().text());
    assert.equal(v1.headers.get("x-prometheus-remote-write-samples-written"), "3");

    const later = [series("rw_up", { job: "node", instance: "a:9100" }, [[now, 1]])];
    const v2 = await app.request(
      "/api/v1/write",
      post(snappyWasm.compress_raw(encodeRequestV2(toRequestV2(later))), V2, GLOBEX),
    );
    assert.equal(v2.status, 204, await v2.clone().text());
    assert.equal(v2.headers.get("x-prometheus-remote-write-samples-written"), "1");
    assert.equal(v2.headers.get("x-prometheus-remote-write-histograms-written"), "0");
    assert.equal(v2.headers.get("x-prometheus-remote-write-exemplars-written"), "0");

    await pipeline.caughtUp();
    assert.equal(await total(app, ACME, "rw_up"), 3);
    assert.equal(await total(app, GLOBEX, "rw_up"), 1);
  } finally {
    await pipeline.close();
  }
});

Deno.test("remote write: invalid series get 400 naming each, while the valid ones are stored", async () => {
  const { app, pipeline } = await setup();
  try {
    const now = Date.now();
    const sent = [
      series("rw_ok", { job: "a" }, [[now, 1]]),
      { labels: [{ name: "job", value: "nameless" }], samples: [{ timestamp: now, value: 1 }] },
      series("rw_ok", { "bad-name": "x" }, [[now, 1]]),
    ];
    const res = await app.request(
      "/api/v1/write",
      post(snappyWasm.compress_raw(encodeWriteRequestV1({ timeseries: sent })), V1),
    );
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("x-prometheus-remote-write-samples-written"), "1");
    assert.equal(
      await res.text(),
      "remote write 1.0: 1 samples written, 2 series rejected\n" +
        'series 1: series has no metric name (label "__name__")\n' +
        'series 2 (rw_ok): label name "bad-name" is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)\n',
    );
    await pipeline.caughtUp();
    assert.equal(await total(app, ACME, "rw_ok"), 1);
  } finally {
    await pipeline.close();
  }
});

Deno.test("remote write: wrong content type, proto or encoding is 415; a corrupt block 400; no key 401", async () => {
  const { app, pipeline } = await setup();
  try {
    const body = snappyWasm.compress_raw(
      encodeWriteRequestV1({ timeseries: [series("x", {}, [[Date.now(), 1]])] }),
    );
    const cases: [RequestInit, number, RegExp][] = [
      [
        post(body, "application/json"),
        415,
        /content type "application\/json" is not application\/x-protobuf/,
      ],
      [
        post(body, "application/x-protobuf;proto=io.prometheus.write.v3.Request"),
        415,
        /proto "io\.prometheus\.write\.v3\.Request"/,
      ],
      [
        { ...post(body, V1), headers: { ...ACME, "content-type": V1 } },
        415,
        /content encoding "" is not snappy/,
      ],
      [post(Uint8Array.from([10, 0x00, 0xff, 0xff]), V1), 400, /snappy block is corrupt/],
      [post(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), V1), 400, /not a snappy block/],
      [{ ...post(body, V1), headers: { "content-type": V1, "content-encoding": "snappy" } }, 401, /API key/],
    ];
    for (const [init, status, detail] of cases) {
      const res = await app.request("/api/v1/write", init);
      assert.equal(res.status, status, JSON.stringify(init.headers));
      assert.match((await res.json()).detail, detail);
    }
  } finally {
    await pipeline.close();
  }
});

Deno.test("remote write: a snappy block declaring 4 GiB is 413 before anything is inflated", async () => {
  const { app, pipeline } = await setup();
  try {
    // Varint 2^32 then a few bytes: the declared length alone is over every limit.
    const block = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x01, 0x02]);
    const res = await app.request("/api/v1/write", post(block, V1));
    assert.equal(res.status, 413);
    assert.match((await res.json()).detail, /declares 4294967296 bytes, over the limit of 262144/);
  } finally {
    await pipeline.close();
  }
});
