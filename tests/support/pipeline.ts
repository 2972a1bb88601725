/**
 * An in-process pipeline for tests: a fresh SQLite log in a temp directory (or the log
 * that `openLog` gives, e.g. Kafka with a topic of its own), the shared ClickHouse engine,
 * and raw + rollup projectors under names no other test uses.
 */
import { openSqliteLog } from "../../adapters/embedded-log/sqlite-log.ts";
import type { CommandLog } from "../../domain/ports/command-log.ts";
import { Projector } from "../../adapters/projector.ts";
import type { AnalyticsStore } from "../../domain/ports/analytics-store.ts";
import { rawProjection, type RawProjectionOptions } from "../../projections/raw.ts";
import { rollupProjection } from "../../projections/rollup.ts";
import { sharedStore, uniqueName } from "./analytics.ts";

export const TOPIC = "metrics.samples";

export interface PipelineLog {
  readonly log: CommandLog;
  readonly topic: string;
  cleanup(): Promise<void>;
}

export interface Pipeline {
  readonly log: CommandLog;
  readonly topic: string;
  readonly store: AnalyticsStore;
  readonly groups: readonly string[];
  /** What the projectors reported failing (planning, writes, commits), as `projection: error`. */
  readonly errors: readonly string[];
  start(): void;
  /** Resolves once every group has committed everything appended so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function openPipeline(
  options: {
    partitions?: number;
    allowedLatenessMs?: number;
    maxRecords?: number;
    openLog?: () => Promise<PipelineLog>;
    seriesSeen?: RawProjectionOptions["seriesSeen"];
    samplesStored?: RawProjectionOptions["samplesStored"];
  } = {},
): Promise<Pipeline> {
  const { log, topic: TOPIC, cleanup } = await (options.openLog ?? sqliteLog)();
  await log.ensureTopic(TOPIC, options.partitions ?? 4);
  const store = await sharedStore();
  const errors: string[] = [];
  const onError = (projection: string, error: unknown) => errors.push(`${projection}: ${error}`);
  const rawName = uniqueName("raw");
  const rollupName = uniqueName("rollup");
  const projectors = [
    new Projector(
      rawProjection({
        topic: TOPIC,
        name: rawName,
        seriesSeen: options.seriesSeen,
        samplesStored: options.samplesStored,
      }),
      log,
      store,
      {
        maxRecords: options.maxRecords ?? 7,
        onError,
      },
    ),
    new Projector(
      rollupProjection({
        topic: TOPIC,
        name: rollupName,
        watermark: { allowedLatenessMs: options.allowedLatenessMs },
      }),
      log,
      store,
      { maxRecords: options.maxRecords ?? 7, onError },
    ),
  ];
  const running: Promise<void>[] = [];
  return {
    log,
    topic: TOPIC,
    store,
    groups: [rawName, rollupName],
    errors,
    start() {
      for (const p of projectors) running.push(p.start());
    },
    async caughtUp(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let behind = 0;
        for (const group of [rawName, rollupName]) {
          for (const o of await log.offsets(TOPIC, group)) behind += o.end - (o.committed ?? 0);
        }
        if (behind === 0) return;
        if (Date.now() > deadline) {
          throw new Error(`projections still ${behind} records behind after ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await Promise.all(projectors.map((p) => p.stop()));
      await Promise.allSettled(running);
      await cleanup();
    },
  };
}

/** A fresh SQLite log in a temp directory, removed by `cleanup`. */
export async function sqliteLog(): Promise<PipelineLog> {
  const dir = await Deno.makeTempDir({ prefix: "lookout-pipeline-" });
  const log = openSqliteLog({ path: `${dir}/log.sqlite`, sync: "normal" });
  return {
    log,
    topic: TOPIC,
    cleanup: async () => {
      await log.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
