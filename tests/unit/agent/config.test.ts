import assert from "node:assert/strict";
import { parseAgentConfig } from "../../../adapters/agent/config.ts";

const noFile = (path: string): string => {
  throw new Error(`no file ${path}`);
};

Deno.test("agent config: file, then environment, then flags; defaults for the rest", () => {
  const file = JSON.stringify({
    url: "http://file:1",
    apiKey: "from-file",
    interval: "30s",
    labels: { dc: "x" },
  });
  const config = parseAgentConfig(
    ["--config", "agent.json", "--interval", "1m30s", "--scrape", "http://app:3000/metrics", "--no-host"],
    { LOOKOUT_URL: "http://env:8080", LOOKOUT_AGENT_DATA_DIR: "/var/lib/agent" },
    () => file,
  );
  assert.ok(!Array.isArray(config), JSON.stringify(config));
  assert.equal(config.url, "http://env:8080");
  assert.equal(config.apiKey, "from-file");
  assert.equal(config.interval, 90_000);
  assert.equal(config.dataDir, "/var/lib/agent");
  assert.equal(config.host, false);
  assert.deepEqual(config.scrape, [{ url: "http://app:3000/metrics", job: "scrape" }]);
  assert.deepEqual(config.labels, { dc: "x" });
  assert.deepEqual(config.listen, { host: "127.0.0.1", port: 9465 });
});

Deno.test("agent config: every problem is named, with the setting it concerns", () => {
  const problems = parseAgentConfig(["--interval", "soon", "--statsd", "8125", "--bogus"], {}, noFile);
  assert.deepEqual(problems, ["unknown argument --bogus"]);
  const invalid = parseAgentConfig(
    ["--interval", "soon", "--statsd", "8125"],
    { LOOKOUT_URL: "not a url" },
    noFile,
  );
  assert.ok(Array.isArray(invalid));
  const text = invalid.join("\n");
  assert.match(text, /^url: /m);
  assert.match(text, /^apiKey: is required/m);
  assert.match(text, /^interval: must be a duration/m);
  assert.match(text, /^statsd: must be "host:port"/m);
  assert.deepEqual(parseAgentConfig(["--config", "missing.json"], {}, noFile), [
    "config file missing.json: no file missing.json",
  ]);
});
