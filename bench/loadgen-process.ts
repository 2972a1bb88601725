/**
 * `loadgen.ts` as a child process: it builds its bodies first (`ready`), starts sending
 * on `go()`, and prints one result line when done (`result`), then exits (`ended`).
 *
 * @example
 * const load = spawnLoadgen(["--format", "native", "--url", url], ROOT);
 * await load.ready;
 * await load.go();
 * const { samples } = await load.result();
 * await load.ended();
 */
import type { LoadResult } from "./loadgen.ts";
import { lineReader } from "./proc.ts";

export interface LoadgenProcess {
  readonly ready: Promise<void>;
  go(): Promise<void>;
  result(): Promise<LoadResult>;
  /** Throws if the load generator failed. */
  ended(): Promise<void>;
}

export function spawnLoadgen(loadgenArgs: readonly string[], cwd: string): LoadgenProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/loadgen.ts", ...loadgenArgs],
    cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const next = lineReader(child.stdout);
  const line = async () =>
    (await next()) ?? Promise.reject(new Error("load generator ended without a result"));
  const ready = line().then((text) => {
    if (!JSON.parse(text).ready) throw new Error("load generator did not get ready");
  });
  return {
    ready,
    async go() {
      await ready;
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
    },
    result: async () => JSON.parse(await line()) as LoadResult,
    async ended() {
      const status = await child.status;
      if (!status.success) throw new Error(`load generator failed (exit ${status.code})`);
    },
  };
}
