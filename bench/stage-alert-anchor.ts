/**
 * The anchor for alert latency: the same threshold alert in Prometheus + Alertmanager,
 * measured on this machine from the moment a scraped value starts breaching to the
 * moment a webhook receiver gets the firing notification.
 *
 * A probe serves `cpu_usage{host="h1"}`; Prometheus scrapes it every `--scrape`
 * seconds and evaluates `cpu_usage > 90` (`for: 0s`) every `--eval` seconds, pushing
 * to Alertmanager, whose route has `group_wait: --group-wait` and a webhook receiver in
 * this process. Each round sets the value to 97, waits for the firing notification,
 * then sets it back and waits for the resolved one. Lookout's own figure for the same
 * alert (202 of the breaching sample → webhook) is `bench/stage-alert-latency.ts`.
 *
 * deno run -A bench/stage-alert-anchor.ts [--rounds 10] [--scrape 1] [--eval 1] [--group-wait 0]
 *   [--prometheus path] [--alertmanager path]
 */
import { join } from "node:path";
import { argValue, freePortOf, workDir } from "./proc.ts";

const args = Deno.args;
const ROUNDS = Number(argValue(args, "--rounds") ?? 10);
const SCRAPE_S = Number(argValue(args, "--scrape") ?? 1);
const EVAL_S = Number(argValue(args, "--eval") ?? 1);
const GROUP_WAIT_S = Number(argValue(args, "--group-wait") ?? 0);
const PROMETHEUS = argValue(args, "--prometheus") ?? "prometheus";
const ALERTMANAGER = argValue(args, "--alertmanager") ?? "/usr/bin/prometheus-alertmanager";

let value = 10;
const probe = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  () => new Response(`# TYPE cpu_usage gauge\ncpu_usage{host="h1"} ${value}\n`),
);

const notifications: { status: string; at: number }[] = [];
const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  const at = performance.now();
  const body = await req.json() as { alerts: { status: string }[] };
  for (const alert of body.alerts) notifications.push({ status: alert.status, at });
  return new Response("ok");
});

const dir = await workDir("alert-anchor-");
const amPort = freePortOf();
const promPort = freePortOf();
await Deno.writeTextFile(
  join(dir, "alertmanager.yml"),
  `route:
  receiver: hook
  group_by: [alertname, host]
  group_wait: ${GROUP_WAIT_S}s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:${receiver.addr.port}/
        send_resolved: true
`,
);
await Deno.writeTextFile(
  join(dir, "rules.yml"),
  `groups:
  - name: anchor
    interval: ${EVAL_S}s
    rules:
      - alert: CpuHigh
        expr: cpu_usage > 90
        for: 0s
`,
);
await Deno.writeTextFile(
  join(dir, "prometheus.yml"),
  `global:
  scrape_interval: ${SCRAPE_S}s
  evaluation_interval: ${EVAL_S}s
rule_files: [${join(dir, "rules.yml")}]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:${amPort}"]
scrape_configs:
  - job_name: probe
    static_configs:
      - targets: ["127.0.0.1:${probe.addr.port}"]
`,
);

const children = [
  new Deno.Command(ALERTMANAGER, {
    args: [
      `--config.file=${join(dir, "alertmanager.yml")}`,
      `--storage.path=${join(dir, "am")}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      "--cluster.listen-address=",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn(),
  new Deno.Command(PROMETHEUS, {
    args: [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "prom")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn(),
];

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

try {
  await until(
    async () => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=up{job="probe"}`).catch(() =>
        undefined
      );
      if (!res?.ok) return false;
      const body = await res.json() as { data: { result: { value: [number, string] }[] } };
      return body.data.result[0]?.value[1] === "1";
    },
    60_000,
    "Prometheus to scrape the probe",
  );
  const latencies: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const seen = notifications.length;
    const started = performance.now();
    value = 97;
    await until(() => notifications.slice(seen).some((n) => n.status === "firing"), 300_000, "firing");
    const fired = notifications.slice(seen).find((n) => n.status === "firing")!;
    latencies.push(fired.at - started);
    const resolvedFrom = notifications.length;
    value = 10;
    await until(
      () => notifications.slice(resolvedFrom).some((n) => n.status === "resolved"),
      600_000,
      "resolved",
    );
    // A phase offset against the scrape and evaluation clocks for the next round.
    await new Promise((resolve) => setTimeout(resolve, 137 * (round + 1) % 1000));
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `alert anchor: Prometheus (scrape ${SCRAPE_S}s, evaluation ${EVAL_S}s) + Alertmanager ` +
      `(group_wait ${GROUP_WAIT_S}s), ${ROUNDS} rounds: breach → webhook p50 ${
        Math.round(percentile(sorted, 50))
      } ms, p99 ${Math.round(percentile(sorted, 99))} ms, min ${Math.round(sorted[0])} ms, max ${
        Math.round(sorted.at(-1)!)
      } ms`,
  );
} finally {
  for (const child of children) {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  }
  await probe.shutdown();
  await receiver.shutdown();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
