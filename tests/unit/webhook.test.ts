import assert from "node:assert/strict";
import { AddressGuard } from "../../adapters/notifier/address-guard.ts";
import { signature, targetUrl, WebhookSender } from "../../adapters/notifier/webhook-sender.ts";
import { ValidationError } from "../../domain/errors.ts";

Deno.test("address guard: loopback, private, link-local, mapped and metadata addresses are refused", () => {
  const guard = new AddressGuard();
  const refused = [
    "127.0.0.1",
    "127.1.2.3",
    "10.0.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "::",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "fd00::1",
    "fe80::1",
    "224.0.0.1",
  ];
  for (const address of refused) assert.ok(guard.refusal(address), `${address} should be refused`);
  for (const address of ["8.8.8.8", "172.32.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "100.128.0.1"]) {
    assert.equal(guard.refusal(address), undefined, `${address} should be allowed`);
  }
  assert.equal(
    guard.refusal("169.254.169.254"),
    "169.254.169.254 is in the link-local (cloud metadata) network 169.254.0.0/16",
  );
});

Deno.test("address guard: an operator's allow-list opens exactly its networks", () => {
  const guard = new AddressGuard(["127.0.0.0/8", "fd12::/16"]);
  assert.equal(guard.refusal("127.0.0.1"), undefined);
  assert.equal(guard.refusal("::ffff:127.0.0.1"), undefined);
  assert.equal(guard.refusal("fd12:3::1"), undefined);
  assert.ok(guard.refusal("10.0.0.1"));
  assert.ok(guard.refusal("fd13::1"));
  assert.throws(() => new AddressGuard(["10.0.0.0/33"]), ValidationError);
  assert.throws(() => new AddressGuard(["nonsense"]), /expected a CIDR/);
});

Deno.test("address guard at save time: literal and resolved addresses are checked", async () => {
  const guard = new AddressGuard();
  for (
    const url of ["http://127.1/", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://localhost:9/"]
  ) {
    await assert.rejects(guard.check(new URL(url)), ValidationError, url);
  }
  await assert.rejects(guard.check(new URL("http://does-not-exist.invalid/")), /does not resolve/);
});

Deno.test("webhook sender: a refused address is dead before any connection, also through DNS", async () => {
  const sender = new WebhookSender({ guard: new AddressGuard(), timeoutMs: 2_000 });
  const out = { id: "msg_1", body: {}, timestamp: 1 };
  const literal = await sender.send(
    { type: "webhook", url: "http://169.254.169.254/latest", secret: "" },
    out,
  );
  assert.deepEqual([literal.kind, literal.kind !== "delivered" && /link-local/.test(literal.error)], [
    "dead",
    true,
  ]);
  const named = await sender.send({ type: "webhook", url: "http://localhost:9/", secret: "" }, out);
  assert.deepEqual([named.kind, named.kind !== "delivered" && /refused: .*loopback/.test(named.error)], [
    "dead",
    true,
  ]);
});

Deno.test("webhook sender: 2xx delivered, 410 dead, 500 retried, redirects not followed", async () => {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    hits++;
    const path = new URL(request.url).pathname;
    if (path === "/gone") return new Response(null, { status: 410 });
    if (path === "/fail") return new Response(null, { status: 500 });
    if (path === "/moved") return Response.redirect("http://169.254.169.254/", 302);
    return new Response(null, { status: 204 });
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const sender = new WebhookSender({ guard: new AddressGuard(["127.0.0.0/8"]) });
    const send = (path: string) =>
      sender.send({ type: "webhook", url: base + path, secret: "s" }, {
        id: "msg_2",
        body: { a: 1 },
        timestamp: 2,
      });
    assert.equal((await send("/ok")).kind, "delivered");
    assert.equal((await send("/gone")).kind, "dead");
    assert.equal((await send("/fail")).kind, "retry");
    assert.equal((await send("/moved")).kind, "retry", "a 302 is a failed attempt, not followed");
    assert.equal(hits, 4, "the redirect target was never called");
  } finally {
    await server.shutdown();
  }
});

Deno.test("standard webhooks signature: HMAC-SHA256 over id.timestamp.body, whsec_ keys are base64", () => {
  // The example from the Standard Webhooks specification.
  assert.equal(
    signature(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    ),
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  );
  assert.equal(targetUrl("alertmanager", "http://am:9093").href, "http://am:9093/api/v2/alerts");
  assert.equal(
    targetUrl("alertmanager", "http://am:9093/api/v2/alerts").href,
    "http://am:9093/api/v2/alerts",
  );
  assert.equal(targetUrl("webhook", "http://x/hook").href, "http://x/hook");
});
