/**
 * The agent's own cost on this machine, beside the peers doing the same job:
 *
 * - `host, 10 s`: `lookout-agent` collecting host metrics at its default interval,
 *   against Debian's `prometheus-node-exporter` scraped every 10 s by `vmagent`
 *   (the two processes together are the peer);
 * - `scrape 1k/s`: 1,000 series scraped every second from one endpoint and sent on,
 *   by `lookout-agent --no-host` and by `vmagent`.
 *
 * Everything sends to one sink in this process that answers 202/204 and counts, so
 * only the agents' work is measured: CPU seconds from /proc/<pid>/stat over the
 * window after a warm-up interval, as a share of one core, and resident memory
 * (current and peak) at the end.
 *
 * deno run -A bench/agent.ts [--quick]
 */
import { cpuSeconds, fmt, freePortOf, peakRssMiB, workDir } from "./proc.ts";

const quick = Deno.args.includes("--quick");
const WINDOW_S = quick ? 30 : 90;
const ROOT = new URL("..", import.meta.url).pathname;

let sinkRequests = 0;
let sinkBytes = 0;
const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
  sinkBytes += (await request.arrayBuffer()).byteLength;
  sinkRequests++;
  return new Response(null, { status: new URL(request.url).pathname === "/v1/samples" ? 202 : 204 });
});
const sinkUrl = `http://127.0.0.1:${sink.addr.port}`;

let scrapes = 0;
const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
  scrapes++;
  const lines: string[] = ["# TYPE bench_requests_total counter"];
  for (let i = 0; i < 1000; i++) {
    lines.push(
      `bench_requests_total{route="/r${i % 50}",code="${200 + (i % 4)}",pod="p${i}"} ${scrapes * 7 + i}`,
    );
  }
  return new Response(lines.join("\n") + "\n");
});
const targetUrl = `http://127.0.0.1:${target.addr.port}/metrics`;

interface Run {
  readonly name: string;
  readonly processes: { readonly label: string; readonly cmd: string[] }[];
  readonly warmupS: number;
}

interface Measured {
  readonly name: string;
  readonly cpuShare: number;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  readonly requests: number;
  readonly bytes: number;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

async function measure(run: Run): Promise<Measured> {
  const children = run.processes.map((p) =>
    new Deno.Command(p.cmd[0], { args: p.cmd.slice(1), stdout: "null", stderr: "null", cwd: ROOT }).spawn()
  );
  try {
    await new Promise((r) => setTimeout(r, run.warmupS * 1000));
    const cpu0 = children.map((c) => cpuSeconds(c.pid));
    const requests0 = sinkRequests;
    const bytes0 = sinkBytes;
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
    const cpu = children.reduce((n, c, i) => n + cpuSeconds(c.pid) - cpu0[i], 0);
    return {
      name: run.name,
      cpuShare: cpu / WINDOW_S,
      rssMiB: children.reduce((n, c) => n + rssMiB(c.pid), 0),
      peakRssMiB: children.reduce((n, c) => n + peakRssMiB(c.pid), 0),
      requests: sinkRequests - requests0,
      bytes: sinkBytes - bytes0,
    };
  } finally {
    for (const c of children) {
      try {
        c.kill("SIGTERM");
      } catch { /* gone */ }
      await c.status;
    }
  }
}

async function vmagentConfig(
  dir: string,
  jobs: { name: string; url: string; interval: string }[],
): Promise<string> {
  const path = `${dir}/scrape-${jobs[0].name}.yml`;
  const yaml = "scrape_configs:\n" + jobs.map((j) => {
    const u = new URL(j.url);
    return `  - job_name: ${j.name}\n    scrape_interval: ${j.interval}\n    metrics_path: ${u.pathname}\n` +
      `    static_configs:\n      - targets: ["${u.host}"]\n`;
  }).join("");
  await Deno.writeTextFile(path, yaml);
  return path;
}

const dir = await workDir("agent-");
const deno = Deno.execPath();
const agent = (extra: string[]) => [
  deno,
  "run",
  "-A",
  "adapters/agent/main.ts",
  ...["--url", sinkUrl, "--api-key", "bench", "--listen", `127.0.0.1:${freePortOf()}`],
  ...["--data-dir", `${dir}/lookout-agent-${extra.join("")}`],
  ...extra,
];
const vmagent = (config: string, name: string) => [
  "vmagent",
  `-promscrape.config=${config}`,
  `-remoteWrite.url=${sinkUrl}/api/v1/write`,
  `-httpListenAddr=127.0.0.1:${freePortOf()}`,
  `-remoteWrite.tmpDataPath=${dir}/vmagent-${name}`,
  "-loggerLevel=ERROR",
];
const nodeExporterPort = freePortOf();
const runs: Run[] = [
  {
    name: "lookout-agent, host metrics, 10 s",
    processes: [{ label: "agent", cmd: agent(["--interval", "10s"]) }],
    warmupS: 12,
  },
  {
    name: "node_exporter + vmagent, 10 s",
    processes: [
      {
        label: "node_exporter",
        cmd: ["prometheus-node-exporter", `--web.listen-address=127.0.0.1:${nodeExporterPort}`],
      },
      {
        label: "vmagent",
        cmd: vmagent(
          await vmagentConfig(dir, [{
            name: "node",
            url: `http://127.0.0.1:${nodeExporterPort}/metrics`,
            interval: "10s",
          }]),
          "node",
        ),
      },
    ],
    warmupS: 12,
  },
  {
    name: "lookout-agent, 1,000 scraped series/s",
    processes: [{ label: "agent", cmd: agent(["--interval", "1s", "--no-host", "--scrape", targetUrl]) }],
    warmupS: 5,
  },
  {
    name: "vmagent, 1,000 scraped series/s",
    processes: [{
      label: "vmagent",
      cmd: vmagent(await vmagentConfig(dir, [{ name: "bench", url: targetUrl, interval: "1s" }]), "bench"),
    }],
    warmupS: 5,
  },
];

const results: Measured[] = [];
try {
  for (const run of runs) {
    const r = await measure(run);
    results.push(r);
    console.error(
      `${r.name.padEnd(40)} ${(r.cpuShare * 100).toFixed(2).padStart(6)} % of a core, RSS ${r.rssMiB} MiB ` +
        `(peak ${r.peakRssMiB}), ${r.requests} requests, ${fmt.rate(r.bytes / WINDOW_S)} B/s sent`,
    );
  }
} finally {
  await sink.shutdown();
  await target.shutdown();
  await Deno.remove(dir, { recursive: true });
}
console.log(
  `\n| run (${WINDOW_S} s window) | CPU, % of one core | RSS MiB (peak) | requests | bytes sent/s |`,
);
console.log("| --- | --- | --- | --- | --- |");
for (const r of results) {
  console.log(
    `| ${r.name} | ${(r.cpuShare * 100).toFixed(2)} | ${r.rssMiB} (${r.peakRssMiB}) | ${r.requests} | ${
      fmt.rate(r.bytes / WINDOW_S)
    } |`,
  );
}
