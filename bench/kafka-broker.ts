/**
 * A single-node Kafka broker of a benchmark run (`scripts/kafka/start.sh` in the
 * background, data in the run's work folder), whose pid the benchmark adds to the
 * CPU it counts, since the broker shares the machine with Lookout here.
 *
 * @example
 * const kafka = await startKafka(dir);
 * // LOOKOUT_KAFKA_BROKERS=kafka.brokers …; cpuSeconds(kafka.pid)
 * await kafka.stop();
 */
import { join } from "node:path";
import { freePortOf } from "./proc.ts";

const ROOT = new URL("..", import.meta.url).pathname;

export interface BenchBroker {
  readonly pid: number;
  readonly brokers: string;
  stop(): Promise<void>;
}

export async function startKafka(dir: string): Promise<BenchBroker> {
  const port = freePortOf();
  const data = join(dir, "kafka");
  const out = await new Deno.Command("bash", {
    args: [join(ROOT, "scripts/kafka/start.sh")],
    env: { LOOKOUT_KAFKA_PORT: String(port), LOOKOUT_KAFKA_DATA: data, LOOKOUT_KAFKA_HEAP: "1g" },
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("the Kafka broker did not start");
  const pid = Number(await Deno.readTextFile(join(data, "broker.pid")));
  return {
    pid,
    brokers: `127.0.0.1:${port}`,
    async stop() {
      try {
        Deno.kill(pid, "SIGTERM");
      } catch {
        return;
      }
      await waitUntil("the Kafka broker to exit", () => Promise.resolve(!alive(pid)), 30_000).catch(() =>
        Deno.kill(pid, "SIGKILL")
      );
    },
  };
}

/** Polls `ok` every 100 ms (an exception counts as "not yet") until it holds. */
export async function waitUntil(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await ok()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return !Deno.readTextFileSync(`/proc/${pid}/stat`).includes(") Z ");
  } catch {
    return false;
  }
}
