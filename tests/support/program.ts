/**
 * The real program as a subprocess, for end-to-end tests: `deno run -A main.ts` in the
 * project root with a free port, a temporary data directory and the given tenants.
 * `start` waits for `/readyz`; `kill9` and `restart` simulate a crash and a restart on
 * the same data directory and port. Everything the program prints is kept, and
 * `withProgram` prints it when the test body throws.
 *
 * @example
 * await withProgram({ tenants: { acme: "acme-key-1" } }, async (program) => {
 *   const res = await program.post("/v1/samples", series, { key: "acme-key-1" });
 *   assert.equal(res.status, 202);
 *   await program.kill9();
 *   await program.restart();
 * });
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stagingDirectory } from "../../adapters/clickhouse/clickhouse-store.ts";
import { type MetricSample, parsePrometheusText } from "./prometheus-text.ts";
import { waitFor } from "./wait-for.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAX_OUTPUT_LINES = 5000;

export interface ProgramOptions {
  /** Tenant name → API key. */
  readonly tenants?: Readonly<Record<string, string>>;
  /** Extra environment, e.g. `LOOKOUT_ALLOWED_LATENESS_SECONDS`. */
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

export interface PostOptions {
  /** Sent as `DD-API-KEY`. */
  readonly key?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** `deflate-raw` is sent as `Content-Encoding: deflate` without the zlib header, as some clients do. */
  readonly encoding?: "gzip" | "deflate" | "deflate-raw";
  readonly contentType?: string;
  /** Defaults to a 60 s timeout, so a hung program fails the test instead of stalling it. */
  readonly signal?: AbortSignal;
}

const REQUEST_TIMEOUT_MS = 60_000;

export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  /** The body parsed as JSON when it is JSON, else the text. */
  readonly body: unknown;
}

export type Point = [number, number | string];
export interface QueryReply {
  readonly resolution: string;
  readonly step: number;
  readonly series: { labels: Record<string, string>; points: Point[] }[];
}

export const DEFAULT_TENANTS: Readonly<Record<string, string>> = {
  acme: "acme-key-7f3a91",
  globex: "globex-key-c24d08",
};

export class Program {
  readonly port: number;
  readonly dataDir: string;
  readonly url: string;
  readonly tenants: Readonly<Record<string, string>>;
  readonly #env: Record<string, string>;
  readonly #readyTimeoutMs: number;
  readonly #output: string[] = [];
  #child?: Deno.ChildProcess;
  #status?: Promise<Deno.CommandStatus>;
  #pumps: Promise<void>[] = [];
  #runs = 0;

  private constructor(options: ProgramOptions, port: number, dataDir: string) {
    this.port = port;
    this.dataDir = dataDir;
    this.url = `http://127.0.0.1:${port}`;
    this.tenants = options.tenants ?? DEFAULT_TENANTS;
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    const spec = Object.entries(this.tenants).map(([tenant, key]) => `${tenant}:${key}`).join(",");
    this.#env = {
      ...inheritedEnv(),
      ...options.env,
      PORT: String(port),
      LOOKOUT_DATA_DIR: dataDir,
      LOOKOUT_TENANTS: spec,
    };
  }

  static async start(options: ProgramOptions = {}): Promise<Program> {
    const dataDir = await Deno.makeTempDir({ prefix: "lookout-e2e-" });
    const program = new Program(options, freePort(), dataDir);
    try {
      await program.#spawn();
    } catch (error) {
      program.printOutput("start failed");
      await program.dispose();
      throw error;
    }
    return program;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Resident and peak resident memory of the running program in bytes (`/proc/<pid>/status`). */
  memory(): { rss: number; peak: number } {
    const child = this.#child;
    if (!child) throw new Error("The program is not running");
    const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  }

  /** Everything the program printed so far, prefixed with the run number and stream. */
  output(): string {
    return this.#output.join("\n");
  }

  printOutput(why: string): void {
    console.error(
      `---- lookout output (${why}), data dir ${this.dataDir} ----\n${this.output()}\n---- end ----`,
    );
  }

  async post(path: string, body: unknown, options: PostOptions = {}): Promise<HttpReply> {
    let bytes: Uint8Array = typeof body === "string"
      ? new TextEncoder().encode(body)
      : body instanceof Uint8Array
      ? body
      : new TextEncoder().encode(JSON.stringify(body));
    const headers: Record<string, string> = {
      "content-type": options.contentType ?? "application/json",
      ...options.headers,
    };
    if (options.key !== undefined) headers["dd-api-key"] = options.key;
    if (options.encoding) {
      bytes = await compress(bytes, options.encoding);
      headers["content-encoding"] = options.encoding === "deflate-raw" ? "deflate" : options.encoding;
    }
    const res = await fetch(this.url + path, {
      method: "POST",
      headers,
      body: bytes as Uint8Array<ArrayBuffer>,
      signal: options.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return await reply(res);
  }

  async get(path: string, key?: string): Promise<HttpReply> {
    const res = await fetch(this.url + path, {
      headers: key === undefined ? {} : { "dd-api-key": key },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return await reply(res);
  }

  /** `POST /v1/query` as the tenant of `key`; throws unless the answer is 200. */
  async query(key: string, body: Record<string, unknown>): Promise<QueryReply> {
    const res = await this.post("/v1/query", body, { key });
    if (res.status !== 200) {
      throw new Error(`Query ${JSON.stringify(body)} answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
    return res.body as QueryReply;
  }

  async metrics(): Promise<MetricSample[]> {
    const res = await fetch(this.url + "/metrics", { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
    return parsePrometheusText(await res.text());
  }

  /** Sum of `lookout_projection_lag_records` over every group and partition. */
  async projectionLag(): Promise<number> {
    const lags = (await this.metrics()).filter((s) => s.name === "lookout_projection_lag_records");
    if (lags.length === 0) throw new Error("/metrics has no lookout_projection_lag_records");
    return lags.reduce((sum, s) => sum + s.value, 0);
  }

  /** Waits until every projection has caught up with the log. */
  async waitForProjected(timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => (await this.projectionLag()) === 0, timeoutMs, {
      what: "lookout_projection_lag_records to be 0 everywhere",
    }).catch(async (error) => {
      const lags = await this.metrics().then(
        (all) =>
          all.filter((s) => s.name === "lookout_projection_lag_records" && s.value > 0)
            .map((s) => `${s.labels.group}/${s.labels.partition}=${s.value}`).join(" "),
        (e) => `unreadable: ${e}`,
      );
      throw new Error(`${error.message}; lag by group/partition: ${lags}`);
    });
  }

  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 20_000): Promise<Deno.CommandStatus> {
    const child = this.#child;
    if (!child) throw new Error("The program is not running");
    child.kill("SIGTERM");
    const timer = setTimeout(() => {
      console.warn(
        `lookout (pid ${child.pid}) did not exit within ${timeoutMs} ms of SIGTERM; sending SIGKILL`,
      );
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, timeoutMs);
    try {
      return await this.#reap();
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: the process gets no chance to flush or close anything. */
  async kill9(): Promise<Deno.CommandStatus> {
    const child = this.#child;
    if (!child) throw new Error("The program is not running");
    child.kill("SIGKILL");
    return await this.#reap();
  }

  /** Starts the program again on the same data directory and port. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error("The program is still running; stop or kill it first");
    await this.#spawn();
  }

  /** Stops the program if it runs and removes its data directory. */
  async dispose(): Promise<void> {
    if (this.#child) {
      try {
        await this.stop();
      } catch {
        if (this.#child) await this.kill9();
      }
    }
    await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
    // The program empties its staging directory when it opens the store; this data
    // directory will not be opened again.
    await Deno.remove(stagingDirectory(join(this.dataDir, "clickhouse")), { recursive: true }).catch(
      () => {},
    );
  }

  async #spawn(): Promise<void> {
    const run = ++this.#runs;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: PROJECT_ROOT,
      env: this.#env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#pumps = [
      this.#pump(child.stdout, `[run ${run} out]`),
      this.#pump(child.stderr, `[run ${run} err]`),
    ];
    let exited: Deno.CommandStatus | undefined;
    this.#status = child.status.then((status) => exited = status);
    await waitFor(
      async () => {
        if (exited) throw new Error(`exited with code ${exited.code} before it was ready`);
        const res = await fetch(this.url + "/readyz", { signal: AbortSignal.timeout(5000) }).catch(() =>
          undefined
        );
        if (!res) return false;
        await res.body?.cancel();
        return res.status === 200;
      },
      this.#readyTimeoutMs,
      { what: `lookout run ${run} on port ${this.port} to be ready`, intervalMs: 100 },
    )
      .catch(async (error) => {
        if (!exited) {
          child.kill("SIGKILL");
          await this.#reap();
        } else await this.#reap();
        throw error;
      });
  }

  async #reap(): Promise<Deno.CommandStatus> {
    const status = await this.#status!;
    await Promise.all(this.#pumps);
    this.#child = undefined;
    this.#status = undefined;
    this.#output.push(`[exit] code ${status.code} signal ${status.signal ?? "-"}`);
    return status;
  }

  async #pump(stream: ReadableStream<Uint8Array>, prefix: string): Promise<void> {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) this.#keep(`${prefix} ${line}`);
    }
    if (pending.length > 0) this.#keep(`${prefix} ${pending}`);
  }

  #keep(line: string): void {
    this.#output.push(line);
    if (this.#output.length > MAX_OUTPUT_LINES) {
      this.#output.splice(0, this.#output.length - MAX_OUTPUT_LINES);
    }
  }
}

/** Starts a program, runs `body`, prints the program's output if `body` throws, cleans up. */
export async function withProgram<T>(
  options: ProgramOptions,
  body: (program: Program) => Promise<T>,
): Promise<T> {
  const program = await Program.start(options);
  try {
    return await body(program);
  } catch (error) {
    program.printOutput("test failed");
    throw error;
  } finally {
    await program.dispose();
  }
}

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The test's environment without anything that configures lookout. */
function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(Deno.env.toObject())) {
    if (!name.startsWith("LOOKOUT_") && name !== "PORT") env[name] = value;
  }
  return env;
}

async function compress(bytes: Uint8Array, format: CompressionFormat): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream(format),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function reply(res: Response): Promise<HttpReply> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON: keep the text */ }
  return { status: res.status, headers: res.headers, body };
}
