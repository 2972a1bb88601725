/**
 * The client side of `deno task rebuild raw|rollup`: starts a rebuild through the admin
 * API of a running process, then polls its status and draws a progress bar until it
 * has swapped the tables in (or failed), and prints how the rebuilt tables compare with
 * the ones they replaced. Resolves to whether the rebuild succeeded.
 *
 * @example
 * const ok = await runRebuildCli({ url, token, model: "rollup", write: console.error, interactive: true });
 */
import type { RebuildStatus } from "./read-model-rebuild.ts";

export interface RebuildCliOptions {
  readonly url: string;
  readonly token: string;
  readonly model: "raw" | "rollup";
  readonly write: (text: string) => void;
  /** Redraw one line in place (a terminal) instead of printing a line per update. */
  readonly interactive: boolean;
  readonly pollMs?: number;
}

const BAR_WIDTH = 30;

export async function runRebuildCli(options: RebuildCliOptions): Promise<boolean> {
  const headers = { authorization: `Bearer ${options.token}`, "content-type": "application/json" };
  const endpoint = new URL("/v1/admin/rebuild", options.url);
  const started = await fetch(endpoint, {
    method: "POST",
    headers,
    body: JSON.stringify({ model: options.model }),
  });
  if (started.status !== 202) {
    options.write(`Cannot start the rebuild: ${started.status} ${await started.text()}\n`);
    return false;
  }
  let status = await started.json() as RebuildStatus;
  let lastLine = "";
  while (status.state === "replaying" || status.state === "swapping") {
    const line = progressLine(status);
    if (line !== lastLine) options.write(options.interactive ? `\r${line}` : `${line}\n`);
    lastLine = line;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
    const res = await fetch(endpoint, { headers });
    if (!res.ok) {
      options.write(`\nCannot read the rebuild's progress: ${res.status} ${await res.text()}\n`);
      return false;
    }
    status = await res.json() as RebuildStatus;
  }
  options.write(`${options.interactive ? "\r" : ""}${progressLine(status)}\n`);
  if (status.state === "failed") {
    options.write(`rebuild of ${status.model} failed: ${status.error}\n`);
    return false;
  }
  for (const c of status.comparison ?? []) {
    options.write(
      `${c.table}: ${c.equal ? "equal" : "differs"} — live ${JSON.stringify(c.live)}, rebuilt ${
        JSON.stringify(c.rebuilt)
      }\n`,
    );
  }
  return true;
}

/** `rollup [##########----------]  50% 1200/2400 records, pass 2, replaying` */
export function progressLine(status: RebuildStatus): string {
  const { done, total } = status.records;
  const ratio = status.state === "done" ? 1 : total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(ratio * BAR_WIDTH);
  const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled);
  const percent = String(Math.floor(ratio * 100)).padStart(3);
  return `${status.model} [${bar}] ${percent}% ${done}/${total} records, pass ${status.passes}, ${status.state}`;
}
