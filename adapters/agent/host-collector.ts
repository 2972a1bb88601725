/**
 * Reads the host's `/proc` files and mounted filesystems and turns them into
 * node_exporter-style samples (`domain/agent/host-metrics.ts`). A file that cannot be
 * read costs only its own metrics; the failures are counted per source.
 *
 * @example
 * const collector = new HostCollector({ procRoot: "/proc" });
 * const samples = await collector.collect();
 */
import { statfsSync } from "node:fs";
import {
  cpuAndKernel,
  disks,
  filesystemSamples,
  load,
  memory,
  mountPoints,
  network,
  uptime,
} from "../../domain/agent/host-metrics.ts";
import type { AgentSample } from "../../domain/agent/native-batch.ts";

export interface HostCollectorOptions {
  /** Where procfs is mounted; a test points it at a folder of its own. */
  readonly procRoot?: string;
  /** Adds `filesystem` samples from statfs of each real mount (default true). */
  readonly filesystems?: boolean;
}

const SOURCES: readonly [file: string, parse: (text: string) => AgentSample[]][] = [
  ["stat", cpuAndKernel],
  ["loadavg", load],
  ["meminfo", memory],
  ["net/dev", network],
  ["diskstats", disks],
  ["uptime", uptime],
];

export class HostCollector {
  readonly #procRoot: string;
  readonly #filesystems: boolean;
  readonly failures = new Map<string, number>();

  constructor(options: HostCollectorOptions = {}) {
    this.#procRoot = options.procRoot ?? "/proc";
    this.#filesystems = options.filesystems ?? true;
  }

  async collect(): Promise<AgentSample[]> {
    const out: AgentSample[] = [];
    for (const [file, parse] of SOURCES) {
      try {
        out.push(...parse(await Deno.readTextFile(`${this.#procRoot}/${file}`)));
      } catch {
        this.#fail(file);
      }
    }
    out.push({ metric: "node_processes_pids", labels: {}, value: await this.#processCount() });
    if (this.#filesystems) await this.#collectFilesystems(out);
    return out;
  }

  async #processCount(): Promise<number> {
    let n = 0;
    try {
      for await (const entry of Deno.readDir(this.#procRoot)) if (/^\d+$/.test(entry.name)) n++;
    } catch {
      this.#fail("pids");
    }
    return n;
  }

  async #collectFilesystems(out: AgentSample[]): Promise<void> {
    let mounts;
    try {
      mounts = mountPoints(await Deno.readTextFile(`${this.#procRoot}/mounts`));
    } catch {
      return this.#fail("mounts");
    }
    const seen = new Set<string>();
    for (const mount of mounts) {
      if (seen.has(mount.mountpoint)) continue;
      seen.add(mount.mountpoint);
      try {
        out.push(...filesystemSamples(mount, statfsSync(mount.mountpoint)));
      } catch {
        this.#fail("statfs");
      }
    }
  }

  #fail(source: string): void {
    this.failures.set(source, (this.failures.get(source) ?? 0) + 1);
  }
}
