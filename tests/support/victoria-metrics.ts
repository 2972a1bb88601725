/**
 * VictoriaMetrics (Debian's `victoria-metrics`) as a peer for differential tests: a
 * single-node server on a free loopback port with its data in a temp directory,
 * configured to answer as close to PromQL as MetricsQL allows (no response cache,
 * no latency offset, a staleness window of exactly 5 minutes). `available()` says whether the
 * binary is installed (scripts/install-victoria-metrics.sh installs it).
 */
import { waitFor } from "./wait-for.ts";

export interface VictoriaMetrics {
  readonly url: string;
  /** `/api/v1/import` JSON lines, then a flush so queries see them. */
  importSeries(
    lines: readonly { metric: Record<string, string>; values: number[]; timestamps: number[] }[],
  ): Promise<void>;
  get(path: string, params: Record<string, string>): Promise<unknown>;
  stop(): Promise<void>;
}

export function victoriaMetricsAvailable(): boolean {
  try {
    const status = new Deno.Command("victoria-metrics", {
      args: ["-version"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync();
    return status.success;
  } catch {
    return false;
  }
}

export async function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  const dir = await Deno.makeTempDir({ prefix: "lookout-vm-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command("victoria-metrics", {
    args: [
      `-storageDataPath=${dir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      "-search.disableCache",
      "-search.latencyOffset=0s",
      "-search.maxStalenessInterval=5m",
      "-search.minStalenessInterval=5m",
      "-retentionPeriod=100y",
      "-loggerLevel=ERROR",
    ],
    stdout: "null",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      const res = await fetch(`${url}/health`).catch(() => undefined);
      await res?.body?.cancel();
      return res?.status === 200;
    },
    30_000,
    { what: "VictoriaMetrics /health" },
  );
  return {
    url,
    async importSeries(lines) {
      const body = lines.map((l) => JSON.stringify(l)).join("\n");
      const res = await fetch(`${url}/api/v1/import`, { method: "POST", body });
      if (res.status !== 204) throw new Error(`VictoriaMetrics import: ${res.status} ${await res.text()}`);
      await (await fetch(`${url}/internal/force_flush`)).text();
    },
    async get(path, params) {
      const res = await fetch(`${url}${path}?${new URLSearchParams({ ...params, nocache: "1" })}`);
      return await res.json();
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
