/**
 * What the benchmark reads from /proc: CPU time of a process (user + system, all its
 * threads), its peak resident memory, and a description of the machine.
 *
 * "Per core" figures divide work by CPU seconds, not by wall seconds: a process that
 * keeps 1.6 of 2 cores busy for a second has spent 1.6 CPU seconds.
 */

const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process so far (`"self"` for this one). */
export function cpuSeconds(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces; the fields after its ")" are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** Peak resident set size in MiB. */
export function peakRssMiB(pid: number | "self"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly loadAverage: string;
  readonly kernel: string;
  readonly deno: string;
}

export function describeMachine(): Machine {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const models = [...cpuinfo.matchAll(/^model name\s*:\s*(.+)$/gm)].map((m) => m[1].trim());
  const meminfo = Deno.readTextFileSync("/proc/meminfo");
  const memKiB = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? NaN);
  return {
    cores: navigator.hardwareConcurrency,
    cpuModel: models[0] ?? "unknown",
    memoryGiB: Math.round(memKiB / 1024 / 1024),
    loadAverage: Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" "),
    kernel: Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim(),
    deno: Deno.version.deno,
  };
}

/** A stopwatch over wall time and this process's CPU time. */
export class Meter {
  readonly #wall = performance.now();
  readonly #cpu: number;
  constructor(readonly pid: number | "self" = "self") {
    this.#cpu = cpuSeconds(pid);
  }
  read(): { wallSeconds: number; cpuSeconds: number } {
    return {
      wallSeconds: (performance.now() - this.#wall) / 1000,
      cpuSeconds: cpuSeconds(this.pid) - this.#cpu,
    };
  }
}

/** A temporary directory under `bench/.work` (a real disk, as `./data` would be). */
export async function workDir(prefix: string): Promise<string> {
  const root = new URL("./.work/", import.meta.url).pathname;
  await Deno.mkdir(root, { recursive: true });
  return await Deno.makeTempDir({ dir: root, prefix });
}

export function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function writeResult(args: readonly string[], result: unknown): Promise<void> {
  const out = argValue(args, "--out");
  if (out !== undefined) await Deno.writeTextFile(out, JSON.stringify(result, null, 2));
}

export const fmt = {
  rate: (n: number) => Math.round(n).toLocaleString("en-US"),
  seconds: (s: number) => s.toFixed(2),
};

/** A port that was free a moment ago, for a process the benchmark starts. */
export function freePortOf(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Lines of a child's stdout, one per call; undefined once the stream has ended. */
export function lineReader(stream: ReadableStream<Uint8Array>): () => Promise<string | undefined> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return async () => {
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) return buffered === "" ? undefined : buffered;
      buffered += value;
    }
  };
}
