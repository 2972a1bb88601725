/**
 * The 1h tier's closed days packed per series and day: dashboard answers are the same
 * before and after packing for every packed aggregation, step and grouping; packing
 * again changes nothing; packed rows are what the closed days are read from; a day the
 * watermark has not closed in every partition is not packed, nor one only a batch the
 * group has not committed closed.
 */
import assert from "node:assert/strict";
import { appendSamples } from "../../commands/ingest/append-samples.ts";
import { SampleBatchBuilder } from "../../domain/sample-batch.ts";
import { partitionOf, seriesId } from "../../domain/series.ts";
import { PlanJournal } from "../../adapters/plan-journal.ts";
import { RollupCompactor } from "../../adapters/rollup-compactor.ts";
import { type Aggregation, runSampleQuery, type SampleQuery } from "../../read-models/sample-query.ts";
import { PackedMarks } from "../../read-models/packed-marks.ts";
import {
  DAY_MS,
  HOUR_MS as HOUR,
  MARKS_SQL,
  PACKED_THROUGH_SQL,
  packedThrough,
} from "../../read-models/rollup-days.ts";
import { Unavailable } from "../../domain/errors.ts";
import type { AnalyticsStore } from "../../domain/ports/analytics-store.ts";
import { rollupProjection } from "../../projections/rollup.ts";
import { initialWatermark } from "../../domain/watermark.ts";
import { defaultRetention } from "../../read-models/schema.ts";
import { sharedStore, uniqueName } from "../support/analytics.ts";
import { openPipeline, type Pipeline, sqliteLog, TOPIC } from "../support/pipeline.ts";

const LATENESS = 300_000;
const PARTITIONS = 4;

/** Hosts whose series cover every partition at least twice. */
function hosts(tenant: string): string[] {
  const perPartition = new Array(PARTITIONS).fill(0);
  const chosen: string[] = [];
  for (let i = 0; perPartition.some((n) => n < 2); i++) {
    const host = `h${i}`;
    const p = partitionOf(seriesId(tenant, "load", { host, zone: i % 3 ? "b" : "a" }), PARTITIONS);
    if (perPartition[p] >= 3) continue;
    perPartition[p]++;
    chosen.push(host);
  }
  return chosen;
}

/** Samples every 10 min from `start` to `end` (each series skipping every fifth hour, even ones with a seventh sample in every seventh hour), values multiples of 0.25 (exact sums in any order). */
async function send(pipeline: Pipeline, tenant: string, names: string[], start: number, end: number) {
  const defs = names.map((host, i) => {
    const labels = { host, zone: i % 3 ? "b" : "a" };
    return { id: seriesId(tenant, "load", labels), metric: "load", labels };
  });
  let n = 0;
  for (let t = start; t < end; t += 6 * HOUR) {
    const b = new SampleBatchBuilder(tenant);
    const index = defs.map((d) => b.addSeries(d));
    for (let ts = t; ts < Math.min(t + 6 * HOUR, end); ts += 600_000) {
      for (const [i, s] of index.entries()) {
        // Each series misses some hours, so a group's hour mixes series with and without data.
        if ((Math.floor(ts / HOUR) + i) % 5 === 0) continue;
        b.addSample(s, ts + i * 1_000, ((ts / 600_000 + i * 7) % 97) / 4 - 3);
        // Even series take a second sample at the top of every seventh hour, so their
        // days mix hours of 6 and 7 samples (packed with a count per hour) and the odd
        // series' days hold 6 in every hour (packed with one count).
        if (i % 2 === 0 && ts % HOUR === 0 && Math.floor(ts / HOUR) % 7 === 0) {
          b.addSample(s, ts + i * 1_000 + 300_000, ((ts / 300_000 + i) % 89) / 4 - 2);
        }
      }
    }
    await appendSamples(
      { log: pipeline.log, topic: TOPIC, partitions: PARTITIONS },
      b.build(),
      `${tenant}-${start}-${n++}`,
    );
  }
}

/** The tenant's packed-through marks (ms). */
async function marksOf(store: AnalyticsStore, tenant: string): Promise<number[]> {
  return (await store.query<{ tenant: string; through: string | number }>(MARKS_SQL))
    .filter((m) => m.tenant === tenant).map((m) => Number(m.through));
}

/** A compactor of the pipeline's rollup projection, at `now`. */
function compactorFor(
  pipeline: Pipeline,
  now: number,
  onMarked?: (tenant: string, through: number) => void,
): RollupCompactor {
  return new RollupCompactor({
    onMarked,
    store: pipeline.store,
    log: pipeline.log,
    topic: pipeline.topic,
    consumer: pipeline.groups[1],
    partitions: PARTITIONS,
    intervalMs: 60_000,
    retentionDays: 40,
    now: () => now,
  });
}

function queries(now: number): SampleQuery[] {
  const aggs: Aggregation[] = ["avg", "sum", "min", "max", "count"];
  const shapes: Pick<SampleQuery, "from" | "to" | "step" | "by" | "filters">[] = [
    { from: now - 4 * DAY_MS, to: now, step: HOUR, by: ["zone"], filters: {} },
    { from: now - 4 * DAY_MS + 7 * HOUR, to: now - 3 * HOUR, step: 5 * HOUR, by: [], filters: {} },
    { from: now - 3 * DAY_MS, to: now, step: DAY_MS, by: ["zone"], filters: {} },
    { from: now - 4 * DAY_MS, to: now, step: 2 * HOUR, filters: { zone: "a" } },
  ];
  return aggs.flatMap((agg) =>
    shapes.map((shape) => ({ metric: "load", agg, resolution: "1h" as const, ...shape }))
  );
}

Deno.test("packed days: same answers before and after packing, again after packing twice, and read from the packed rows", async () => {
  const pipeline = await openPipeline({ partitions: PARTITIONS, allowedLatenessMs: LATENESS });
  const tenant = uniqueName("packed");
  try {
    pipeline.start();
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    const start = Math.floor((now - 4 * DAY_MS) / DAY_MS) * DAY_MS;
    const names = hosts(tenant);
    await send(pipeline, tenant, names, start, now);
    await pipeline.caughtUp();
    const ctx = { now, retention: defaultRetention, allowedLatenessMs: LATENESS };
    const answer = async () => {
      const out = [];
      for (const q of queries(now)) {
        const r = await runSampleQuery(pipeline.store, tenant, q, ctx);
        // Series come in the order their first rows do; compare them by labels.
        const key = (labels: Record<string, string>) => JSON.stringify(labels);
        out.push({ ...r, series: [...r.series].sort((a, b) => key(a.labels) < key(b.labels) ? -1 : 1) });
      }
      return out;
    };
    const before = await answer();
    assert.ok(before.every((r) => r.series.length > 0 && r.series.every((s) => s.points.length > 0)));

    const handed = new Map<string, number>();
    const compactor = compactorFor(pipeline, now, (t, mark) => handed.set(t, mark));
    const packed = await compactor.compact();
    const journal = new PlanJournal(pipeline.store, pipeline.groups[1]);
    const [through] = await marksOf(pipeline.store, tenant);
    assert.equal(handed.get(tenant), through, "the compactor hands over the mark it wrote last");
    const diagnosis = `packed ${packed} tenant hours through ${through} from ${
      JSON.stringify(await journal.newest())
    }; projector errors: ${JSON.stringify(pipeline.errors)}`;
    // Every partition has series with samples in the last hours: the watermark closed an
    // hour among the last three.
    assert.ok(
      through % HOUR === 0 && through <= now - LATENESS && through > now - 3 * HOUR,
      diagnosis,
    );
    assert.equal(packed, (through - start) / HOUR, diagnosis);
    const [rows] = await pipeline.store.query<{ days: string; one: string; each: string }>(
      `SELECT uniqExact(day) AS days, countIf(per_hour > 0 AND empty(count)) AS one,
        countIf(per_hour = 0 AND length(count) = 24) AS each
      FROM rollup_1h_by_day FINAL WHERE tenant = {tenant:String}`,
      { tenant },
    );
    assert.ok(
      Number(rows.one) > 0 && Number(rows.each) > 0,
      `rows of both count layouts: ${JSON.stringify(rows)}`,
    );
    assert.equal(
      Number(rows.days),
      Math.ceil((through - start) / DAY_MS),
      "the closed days, today's part-way",
    );
    assert.deepEqual(await answer(), before, "answers from packed hours equal those from the 1h buckets");

    // Packed again, as after a crash between rows and mark: one row per series and day stays.
    await pipeline.store.command("DELETE FROM rollup_1h_by_day_through WHERE tenant = {tenant:String}", {
      tenant,
    });
    assert.equal(await compactor.compact(), packed, "the same hours are packed again");
    assert.equal(await compactor.compact(), 0, "nothing is left to pack");
    assert.deepEqual(await answer(), before, "packing twice changes no answer");

    // A bucket row only the 1h tier has, on a packed day: the closed days are read from
    // the packed rows, so it does not show; a day after the packed boundary would.
    const [series] = await pipeline.store.query<{ id: string }>(
      "SELECT toString(any(series_id)) AS id FROM rollup_1h_by_day WHERE tenant = {tenant:String}",
      { tenant },
    );
    // So is one in today's last packed hour: closed hours of today are read packed too.
    for (const at of [start + DAY_MS + 5 * HOUR, through - HOUR]) {
      await pipeline.store.command(
        `INSERT INTO rollup_1h (tenant, series_id, bucket, count, sum, min, max)
        VALUES ({tenant:String}, {id:UInt64}, toDateTime(intDiv({at:Int64}, 1000)), 1000, 0, 0, 0)`,
        { tenant, id: series.id, at },
      );
    }
    const count = { metric: "load", agg: "count" as const, resolution: "1h" as const, filters: {}, by: [] };
    const packedDay = await runSampleQuery(pipeline.store, tenant, {
      ...count,
      from: now - 4 * DAY_MS,
      to: now,
      step: HOUR,
    }, ctx);
    const fromPacked = before[queries(now).findIndex((q) => q.agg === "count" && q.step === HOUR)];
    const total = (r: typeof packedDay) =>
      r.series.flatMap((s) => s.points).reduce((a, [, v]) => a + Number(v), 0);
    assert.equal(total(packedDay), total(fromPacked), "the packed day is read from its packed row");
    const unpacked = await runSampleQuery(pipeline.store, tenant, {
      ...count,
      from: start + DAY_MS + 4 * HOUR,
      to: start + DAY_MS + 6 * HOUR,
      step: HOUR,
    }, { ...ctx, now: start + 2 * DAY_MS });
    assert.ok(
      unpacked.series[0].points.some(([, v]) => Number(v) >= 1000),
      "a query that does not reach back a full day reads the 1h buckets",
    );

    // A rebuild between the mark's read and the statement (it empties the packed tables):
    // the statement fails, to be run again, rather than answer without the packed hours.
    const racing: AnalyticsStore = Object.create(pipeline.store);
    racing.query = async <T>(...[sql, params, settings]: Parameters<AnalyticsStore["query"]>) => {
      const rows = await pipeline.store.query<T>(sql, params, settings);
      if (sql === PACKED_THROUGH_SQL) {
        await pipeline.store.command("DELETE FROM rollup_1h_by_day_through WHERE tenant = {tenant:String}", {
          tenant,
        });
      }
      return rows;
    };
    await assert.rejects(
      runSampleQuery(racing, tenant, queries(now)[0], ctx),
      (error) => error instanceof Unavailable && /replaced while the query ran/.test(error.message),
    );
    await compactor.compact();
    // The marks held in process: a rebuild after the mark was read fails the next query
    // (the held mark is ahead of the stored one); the mark is forgotten, so the query run
    // again reads it anew and answers as a query reading the stored mark does.
    const marks = new PackedMarks((t) => packedThrough(pipeline.store, t), { maxAgeMs: 3_600_000 });
    const held = await runSampleQuery(pipeline.store, tenant, queries(now)[0], ctx, undefined, { marks });
    assert.deepEqual(held, await runSampleQuery(pipeline.store, tenant, queries(now)[0], ctx));
    await pipeline.store.command("DELETE FROM rollup_1h_by_day_through WHERE tenant = {tenant:String}", {
      tenant,
    });
    await assert.rejects(
      runSampleQuery(pipeline.store, tenant, queries(now)[0], ctx, undefined, { marks }),
      (error) => error instanceof Unavailable && /replaced while the query ran/.test(error.message),
    );
    assert.deepEqual(
      await runSampleQuery(pipeline.store, tenant, queries(now)[0], ctx, undefined, { marks }),
      await runSampleQuery(pipeline.store, tenant, queries(now)[0], ctx),
      "run again, the query reads the mark anew",
    );
    // Another failure of that statement, whose message echoes its text (and so the check's
    // message), is not taken for one.
    await compactor.compact();
    const missing: AnalyticsStore = Object.create(pipeline.store);
    missing.query = (sql, params, settings) =>
      pipeline.store.query(
        sql.replace("FROM rollup_1h_by_day AS r", "FROM rollup_1h_by_day_missing AS r"),
        params,
        settings,
      );
    await assert.rejects(
      runSampleQuery(missing, tenant, queries(now)[0], ctx),
      (error) => !(error instanceof Unavailable) && /rollup_1h_by_day_missing/.test(String(error)),
    );
  } finally {
    await pipeline.close();
  }
});

Deno.test("packed days: a tenant whose watermark has not closed a day in every partition is not packed", async () => {
  const pipeline = await openPipeline({ partitions: PARTITIONS, allowedLatenessMs: LATENESS });
  const tenant = uniqueName("unpacked");
  try {
    pipeline.start();
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    const start = Math.floor((now - 3 * DAY_MS) / DAY_MS) * DAY_MS;
    // One series: one partition sees the tenant, the others could still take its samples of any day.
    await send(pipeline, tenant, ["h0"], start, now);
    await pipeline.caughtUp();
    const compactor = compactorFor(pipeline, now);
    await compactor.compact();
    const [row] = await pipeline.store.query<{ n: string }>(
      "SELECT count() AS n FROM rollup_1h_by_day WHERE tenant = {tenant:String}",
      { tenant },
    );
    assert.equal(Number(row.n), 0);
  } finally {
    await pipeline.close();
  }
});

Deno.test("packed days: a partition's newest plan counts only once the group has committed it; a day packed part-way is packed again whole", async () => {
  const { log, topic, cleanup } = await sqliteLog();
  const store = await sharedStore();
  const tenant = uniqueName("uncommitted");
  const consumer = uniqueName("rollup");
  try {
    await log.ensureTopic(topic, 2);
    for (const partition of [0, 1]) {
      await log.append(topic, [{ partition, key: "k", value: new Uint8Array([partition]) }]);
    }
    const now = Math.floor(Date.now() / DAY_MS) * DAY_MS + 12 * HOUR;
    const day = (n: number) => Math.floor(now / DAY_MS) * DAY_MS - n * DAY_MS;
    // Two 1h buckets a day for the last four days, at 01:00 and 05:00.
    await store.command(
      `INSERT INTO rollup_1h SELECT {tenant:String}, 1,
         toDateTime(intDiv({first:Int64}, 1000) + intDiv(number, 2) * 86400 + (number % 2) * 14400),
         1, 1, 1, 1, argMaxState(toFloat64(1), (now64(3), toFloat64(1))), ([toInt32(0)], [toUInt64(1)])
       FROM numbers(8) GROUP BY number`,
      { tenant, first: day(4) + HOUR },
    );
    // Each partition's newest plan moved its watermark from 03:00 three days back to 03:00 one day back.
    const projection = rollupProjection();
    const state = (watermark: number) =>
      projection.encodeState(
        new Map([[tenant, { ...initialWatermark(), maxEventTime: watermark, watermark, lastSeenAt: now }]]),
      );
    const journal = new PlanJournal(store, consumer);
    for (const partition of [0, 1]) {
      await journal.record({
        partition,
        first: 0,
        last: 0,
        before: state(day(3) + 3 * HOUR),
        after: state(day(1) + 3 * HOUR),
        now,
      });
    }
    const compactor = new RollupCompactor({
      store,
      log,
      topic,
      consumer,
      partitions: 2,
      intervalMs: 60_000,
      retentionDays: 40,
      now: () => now,
    });
    // Per day packed, the hours its row holds.
    const packedHours = async () =>
      (await store.query<{ day: string; hours: number[] }>(
        `SELECT toString(day) AS day, arrayFilter(h -> bitTest(hours, h), range(24)) AS hours
        FROM rollup_1h_by_day FINAL WHERE tenant = {tenant:String} ORDER BY day`,
        { tenant },
      )).map((r) => [r.day, r.hours.map(Number)]);
    const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    // Not committed: the batch may still be on its way in, so the state before it counts,
    // and of that day only the hours before 03:00.
    assert.equal(await compactor.compact(), 27);
    assert.deepEqual(await marksOf(store, tenant), [day(3) + 3 * HOUR]);
    assert.deepEqual(await packedHours(), [[date(day(4)), [1, 5]], [date(day(3)), [1]]]);
    // Committed in one partition only: the other still holds the hour back.
    await log.commit(consumer, topic, 0, 1);
    assert.equal(await compactor.compact(), 0);
    await log.commit(consumer, topic, 1, 1);
    assert.equal(await compactor.compact(), 48);
    assert.deepEqual(await marksOf(store, tenant), [day(1) + 3 * HOUR]);
    assert.deepEqual(
      await packedHours(),
      [[date(day(4)), [1, 5]], [date(day(3)), [1, 5]], [date(day(2)), [1, 5]], [date(day(1)), [1]]],
      "the day packed part-way holds all its hours, in one row",
    );
    const [rows] = await store.query<{ n: string }>(
      "SELECT count() AS n FROM rollup_1h_by_day FINAL WHERE tenant = {tenant:String}",
      { tenant },
    );
    assert.equal(Number(rows.n), 4);
  } finally {
    await cleanup();
  }
});
