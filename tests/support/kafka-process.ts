/**
 * A Kafka broker of the test's own, as a child process (`scripts/kafka/start.sh
 * --foreground`, which exec's the JVM, so signals reach the broker itself): for fault
 * tests that kill it with SIGKILL, pause it with SIGSTOP or restart it on the same data,
 * without disturbing the shared broker other tests use.
 *
 * @example
 * const broker = await KafkaProcess.start();
 * await broker.kill9();
 * await broker.restart();   // same port, same data: every acknowledged record is back
 * await broker.dispose();
 */
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait-for.ts";

const START_SCRIPT = fileURLToPath(new URL("../../scripts/kafka/start.sh", import.meta.url));

export class KafkaProcess {
  readonly #output: string[] = [];
  #child?: Deno.ChildProcess;
  #started = false;

  private constructor(readonly port: number, readonly dataDir: string) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<KafkaProcess> {
    const broker = new KafkaProcess(freePortPair(), await Deno.makeTempDir({ prefix: "lookout-kafka-" }));
    await broker.restart();
    return broker;
  }

  /** Starts the broker on the same port and data folder; resolves once it serves clients. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error("The broker is still running");
    this.#started = false;
    const child = new Deno.Command("bash", {
      args: [START_SCRIPT, "--foreground"],
      env: { LOOKOUT_KAFKA_PORT: String(this.port), LOOKOUT_KAFKA_DATA: this.dataDir },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#pump(child.stdout);
    this.#pump(child.stderr);
    let exited = false;
    child.status.then(() => exited = true);
    await waitFor(
      () => {
        if (exited) throw new Error(`the broker exited during startup:\n${this.output()}`);
        return this.#started;
      },
      90_000,
      { what: `the Kafka broker on ${this.brokers} to start`, intervalMs: 100 },
    );
  }

  async kill9(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill("SIGKILL");
    await child.status;
    this.#child = undefined;
  }

  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  resume(): void {
    this.#child?.kill("SIGCONT");
  }

  output(): string {
    return this.#output.slice(-200).join("\n");
  }

  async dispose(): Promise<void> {
    this.resume();
    await this.kill9();
    await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      for (const line of chunk.split("\n")) {
        if (line.includes("Kafka Server started")) this.#started = true;
        this.#output.push(line);
      }
      if (this.#output.length > 2000) this.#output.splice(0, 1000);
    }
  }
}

/** A free port whose successor (the controller's port) is free too. */
function freePortPair(): number {
  for (;;) {
    const first = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (first.addr as Deno.NetAddr).port;
    try {
      const second = Deno.listen({ hostname: "127.0.0.1", port: port + 1 });
      second.close();
      return port;
    } catch {
      // taken: try another pair
    } finally {
      first.close();
    }
  }
}
