/**
 * The agent as a real process for end-to-end tests: `adapters/agent/main.ts` with the
 * given flags, its own `/metrics` on a free port, its output kept for failure reports.
 *
 * @example
 * const agent = await AgentProcess.start(["--url", program.url, "--api-key", key, "--interval", "1s"]);
 * await agent.kill9();
 * await agent.restart();
 */
import { fileURLToPath } from "node:url";
import { freePort } from "./program.ts";
import { type MetricSample, parsePrometheusText } from "./prometheus-text.ts";
import { waitFor } from "./wait-for.ts";

const AGENT_MAIN = fileURLToPath(new URL("../../adapters/agent/main.ts", import.meta.url));

export class AgentProcess {
  readonly metricsUrl: string;
  readonly #args: string[];
  readonly #output: string[] = [];
  #child?: Deno.ChildProcess;
  #done?: Promise<unknown>;

  private constructor(args: readonly string[], metricsPort: number) {
    this.metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    this.#args = [...args, "--listen", `127.0.0.1:${metricsPort}`];
  }

  static async start(args: readonly string[]): Promise<AgentProcess> {
    const agent = new AgentProcess(args, freePort());
    await agent.restart();
    return agent;
  }

  output(): string {
    return this.#output.join("\n");
  }

  /** Starts the agent (again, on the same flags and data folder) and waits for its /metrics. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error("The agent is still running");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", AGENT_MAIN, ...this.#args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const line of stream.pipeThrough(new TextDecoderStream())) this.#output.push(line.trimEnd());
    };
    this.#done = Promise.all([pump(child.stdout), pump(child.stderr), child.status]);
    await waitFor(() => this.metrics().then(() => true), 30_000, { what: "the agent's /metrics" });
  }

  async metrics(): Promise<MetricSample[]> {
    const res = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(5000) });
    return parsePrometheusText(await res.text());
  }

  async value(name: string): Promise<number> {
    return (await this.metrics()).filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);
  }

  async stop(): Promise<void> {
    await this.#end("SIGTERM");
  }

  async kill9(): Promise<void> {
    await this.#end("SIGKILL");
  }

  async #end(signal: Deno.Signal): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill(signal);
    await this.#done;
    this.#child = undefined;
  }
}
