/**
 * A real Alertmanager (Debian `prometheus-alertmanager`, on loopback) receives what
 * Lookout pushes to an `alertmanager` channel: the firing alert with its labels and
 * rendered annotations, then its resolution (Alertmanager drops it from the active
 * alerts). Needs the binary: required in CI, skipped with a message elsewhere.
 */
import assert from "node:assert/strict";
import { component } from "../support/component.ts";
import { withProgram } from "../support/program.ts";
import { ALERTING_TEST_ENV, cpuHighSpec } from "../support/rule-spec.ts";
import { waitFor } from "../support/wait-for.ts";

const KEY = "acme-am-key-3e9d01";
const BINARY = "/usr/bin/prometheus-alertmanager";

const present = await Deno.stat(BINARY).then(() => BINARY, () => undefined);
const alertmanager = component(
  "Alertmanager",
  present,
  "apt-get install -y prometheus-alertmanager (.ci/run does)",
);

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  generatorURL: string;
}

async function startAlertmanager(binary: string) {
  const dir = await Deno.makeTempDir({ prefix: "lookout-am-" });
  await Deno.writeTextFile(
    `${dir}/alertmanager.yml`,
    "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n",
  );
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command(binary, {
    args: [
      `--config.file=${dir}/alertmanager.yml`,
      `--storage.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () =>
      (await fetch(`${url}/-/ready`).then((r) => r.body?.cancel().then(() => r.ok), () => false)) ||
      undefined,
    30_000,
    {
      what: "Alertmanager ready",
    },
  );
  return {
    url,
    alerts: async () =>
      (await (await fetch(`${url}/api/v2/alerts?active=true&silenced=true&inhibited=true`))
        .json()) as AmAlert[],
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

if (alertmanager.url !== undefined) {
  const binary = alertmanager.url;
  Deno.test({
    name: "a real Alertmanager receives the alerts Lookout pushes, and their resolution",
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const am = await startAlertmanager(binary);
    try {
      await withProgram({
        tenants: { acme: KEY },
        env: ALERTING_TEST_ENV,
      }, async (program) => {
        const channel = await program.post(
          "/v1/channels",
          { name: "am", type: "alertmanager", url: am.url },
          { key: KEY },
        );
        assert.equal(channel.status, 201, JSON.stringify(channel.body));
        const spec = cpuHighSpec({
          for: "0s",
          window: "30s",
          noData: undefined,
          labels: { team: "infra" },
          channels: [(channel.body as { id: string }).id],
        });
        assert.equal((await program.post("/v1/rules", spec, { key: KEY })).status, 201);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const t = Date.now() - 60_000;
        const send = async (points: [number, number][]) => {
          const reply = await program.post("/v1/samples", {
            metric: "cpu_usage",
            labels: { service: "api", host: "web-7" },
            timestamps: points.map(([ts]) => ts),
            values: points.map(([, v]) => v),
          }, { key: KEY });
          assert.equal(reply.status, 202);
        };
        await send([[t, 97]]);
        const [alert] = await waitFor(
          async () => {
            const alerts = await am.alerts();
            return alerts.length > 0 ? alerts : undefined;
          },
          20_000,
          { what: "the alert in Alertmanager" },
        );
        assert.deepEqual(alert.labels, {
          alertname: "cpu_high",
          severity: "page",
          team: "infra",
          host: "web-7",
        });
        assert.equal(alert.annotations.summary, "CPU high on web-7");
        assert.equal(alert.status.state, "active");
        assert.match(alert.generatorURL, /\/v1\/incidents\/[0-9a-f-]{36}$/);

        await send([[t + 40_000, 10]]);
        await waitFor(async () => (await am.alerts()).length === 0 || undefined, 20_000, {
          what: "Alertmanager to see the alert resolved",
        });
      });
    } finally {
      await am.stop();
    }
  });
}
