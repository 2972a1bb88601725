/**
 * The agent's configuration: a JSON file, then environment variables, then flags, each
 * overriding the one before, validated with zod into one `AgentConfig`. Problems are
 * reported all at once, each naming the setting and where it came from.
 *
 * | setting         | file key        | environment              | flag                | default            |
 * | --------------- | --------------- | ------------------------ | ------------------- | ------------------ |
 * | Lookout URL     | `url`           | `LOOKOUT_URL`            | `--url`             | required           |
 * | API key         | `apiKey`        | `LOOKOUT_API_KEY`        | `--api-key`         | required           |
 * | interval        | `interval`      | `LOOKOUT_AGENT_INTERVAL` | `--interval`        | `10s`              |
 * | data folder     | `dataDir`       | `LOOKOUT_AGENT_DATA_DIR` | `--data-dir`        | `./agent-data`     |
 * | queue size      | `queueMaxBytes` |                          | `--queue-max-bytes` | 268435456 (256 MiB)|
 * | own /metrics    | `listen`        |                          | `--listen`          | `127.0.0.1:9465`   |
 * | StatsD UDP      | `statsd`        |                          | `--statsd`          | off                |
 * | scrape targets  | `scrape`: `[{"url","job"}]` |              | `--scrape url` (job `scrape`) | none     |
 * | host metrics    | `host`          |                          | `--no-host`         | on                 |
 * | extra labels    | `labels`        |                          |                     | `{}`               |
 * | host identity   | `instance`      |                          | `--instance`        | the host name      |
 *
 * @example
 * const config = parseAgentConfig(Deno.args, Deno.env.toObject(), readFile);
 */
import { z } from "zod";
import { parseDuration } from "../../domain/alerting/duration.ts";

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: 'must be a duration such as "10s", "500ms" or "1m"' });
  }
  return ms ?? 0;
}).refine((ms) => ms >= 100, "must be at least 100ms");

const address = z.string().regex(/^[^:]+:\d{1,5}$/, 'must be "host:port"').transform((text) => {
  const colon = text.lastIndexOf(":");
  return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
});

export const AgentConfig = z.object({
  url: z.url({ error: "must be Lookout's URL, e.g. http://lookout:8080" }),
  apiKey: z.string({ error: "is required (LOOKOUT_API_KEY or --api-key)" }).min(1),
  interval: duration.default(10_000),
  dataDir: z.string().min(1).default("./agent-data"),
  queueMaxBytes: z.coerce.number().int().min(1024).default(256 * 1024 * 1024),
  listen: address.optional().default({ host: "127.0.0.1", port: 9465 }),
  statsd: address.optional(),
  scrape: z.array(z.object({ url: z.url(), job: z.string().min(1).default("scrape") })).default([]),
  host: z.boolean().default(true),
  labels: z.record(z.string(), z.string()).default({}),
  instance: z.string().min(1).optional(),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

const FLAGS: Record<string, string> = {
  "--url": "url",
  "--api-key": "apiKey",
  "--interval": "interval",
  "--data-dir": "dataDir",
  "--queue-max-bytes": "queueMaxBytes",
  "--listen": "listen",
  "--statsd": "statsd",
  "--instance": "instance",
};

const ENV: Record<string, string> = {
  LOOKOUT_URL: "url",
  LOOKOUT_API_KEY: "apiKey",
  LOOKOUT_AGENT_INTERVAL: "interval",
  LOOKOUT_AGENT_DATA_DIR: "dataDir",
};

/** The merged configuration, or every problem found, one line each. */
export function parseAgentConfig(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  readFile: (path: string) => string,
): AgentConfig | string[] {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  const configPath = flagValue(args, "--config");
  if (configPath !== undefined) {
    try {
      Object.assign(raw, JSON.parse(readFile(configPath)));
    } catch (error) {
      return [`config file ${configPath}: ${error instanceof Error ? error.message : error}`];
    }
  }
  for (const [name, key] of Object.entries(ENV)) if (env[name] !== undefined) raw[key] = env[name];
  const scrape: unknown[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--config") {
      i++;
    } else if (arg === "--no-host") {
      raw.host = false;
    } else if (arg === "--scrape") {
      scrape.push({ url: args[++i] });
    } else if (FLAGS[arg] !== undefined) {
      if (args[i + 1] === undefined) problems.push(`${arg} needs a value`);
      raw[FLAGS[arg]] = args[++i];
    } else {
      problems.push(`unknown argument ${arg}`);
    }
  }
  if (scrape.length > 0) raw.scrape = [...(Array.isArray(raw.scrape) ? raw.scrape : []), ...scrape];
  if (problems.length > 0) return problems;
  const result = AgentConfig.safeParse(raw);
  if (result.success) return result.data;
  return result.error.issues.map((issue) => `${issue.path.join(".") || "config"}: ${issue.message}`);
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}
