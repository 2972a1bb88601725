/**
 * The distributed deployment as written: `docker compose config` (or `docker-compose
 * config`) must accept `docker-compose.yml` with the Dockerfile beside it, must refuse
 * it without `LOOKOUT_TENANTS` (so the check is a real one), the file must run every
 * role of `LOOKOUT_ROLES`, and every `LOOKOUT_*` setting it uses, or `main.ts` reads,
 * must be in the README's settings table. The compose client is required in CI.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { component } from "../support/component.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const COMPOSE = readFileSync(`${ROOT}docker-compose.yml`, "utf8");
const README = readFileSync(`${ROOT}README.md`, "utf8");
const MAIN = readFileSync(`${ROOT}main.ts`, "utf8");

/** The compose client on this machine, as a command line prefix. */
function composeCommand(): string[] | undefined {
  for (const command of [["docker", "compose"], ["docker-compose"]]) {
    try {
      const probe = new Deno.Command(command[0], {
        args: [...command.slice(1), "version"],
        stdout: "null",
        stderr: "null",
      })
        .outputSync();
      if (probe.success) return command;
    } catch { /* not installed */ }
  }
  return undefined;
}

function config(command: string[], env: Record<string, string>): { ok: boolean; text: string } {
  const out = new Deno.Command(command[0], {
    args: [...command.slice(1), "-f", "docker-compose.yml", "config"],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: out.success, text: decode(out.stdout) + decode(out.stderr) };
}

const command = composeCommand();
const client = component(
  "docker compose",
  command?.join(" "),
  "install the compose client (apt-get install docker-compose; .ci/run does)",
);

if (client.url !== undefined && command) {
  Deno.test("docker compose config accepts the deployment and refuses it without LOOKOUT_TENANTS", () => {
    const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root" };
    const accepted = config(command, { ...env, LOOKOUT_TENANTS: "acme:compose-check-key" });
    assert.ok(accepted.ok, accepted.text);
    for (const service of ["kafka", "clickhouse", "kurrentdb", "postgres", "ingest-1", "ingest-2", "query"]) {
      assert.match(accepted.text, new RegExp(`^  ${service}:`, "m"), `service ${service}`);
    }
    assert.match(accepted.text, /LOOKOUT_TENANTS: acme:compose-check-key/);
    const refused = config(command, env);
    assert.equal(refused.ok, false, "config must fail without LOOKOUT_TENANTS");
    assert.match(refused.text, /LOOKOUT_TENANTS/);
  });
}

Deno.test("docker-compose.yml runs every role, builds the image from the Dockerfile, and has health checks and volumes", () => {
  assert.ok(existsSync(`${ROOT}Dockerfile`));
  assert.match(COMPOSE, /build: \./);
  const roles = [...COMPOSE.matchAll(/LOOKOUT_ROLES: (\S+)/g)].flatMap((m) => m[1].split(","));
  for (const role of ["ingest", "raw", "rollup", "alerting", "notifier", "query"]) {
    assert.ok(roles.includes(role), `no service runs the ${role} role`);
  }
  assert.equal(roles.filter((r) => r === "ingest").length, 2, "two ingest nodes");
  for (const service of ["kafka", "clickhouse", "kurrentdb", "postgres"]) {
    const block = COMPOSE.split(new RegExp(`^  ${service}:`, "m"))[1]?.split(/^ {2}\S/m)[0] ?? "";
    assert.match(block, /healthcheck:/, `${service} has a health check`);
    assert.match(block, /volumes:/, `${service} keeps its data in a volume`);
  }
});

Deno.test("every LOOKOUT_* setting of docker-compose.yml and main.ts is in the README's settings table", () => {
  const table = new Set([...README.matchAll(/^\| `(LOOKOUT_[A-Z0-9_]+)`/gm)].map((m) => m[1]));
  assert.ok(table.size > 30, `README table has ${table.size} settings`);
  const used = new Set([
    ...[...COMPOSE.matchAll(/\b(LOOKOUT_[A-Z0-9_]+):/g)].map((m) => m[1]),
    ...[...MAIN.matchAll(/^ {2}(LOOKOUT_[A-Z0-9_]+):/gm)].map((m) => m[1]),
  ]);
  const missing = [...used].filter((name) => !table.has(name));
  assert.deepEqual(missing, [], "settings missing from the README table");
});
