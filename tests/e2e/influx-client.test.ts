/**
 * End to end with InfluxData's own client (`@influxdata/influxdb-client`, the v2 write
 * API) pointed at the running program: points with tags and a measurement that need
 * escaping, float, integer, boolean and string fields, second and nanosecond precision,
 * gzipped and plain bodies; every numeric field must come back through
 * `POST /v1/query` at raw resolution as `{measurement}_{field}` with the same labels,
 * timestamps and values.
 */
import assert from "node:assert/strict";
import { InfluxDB, Point } from "@influxdata/influxdb-client";
import { type Program, withProgram } from "../support/program.ts";

const TENANTS = { acme: "acme-influx-key-71c2", globex: "globex-influx-key-0d4e" };
const HOSTS = ["web 1", "web,2", "web=3"];
const POINTS = 20;
const STEP = 10_000;

interface Expected {
  readonly metric: string;
  readonly labels: Record<string, string>;
  readonly points: [number, number][];
}

function labelsKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function write(
  program: Program,
  precision: "s" | "ns",
  gzip: boolean,
  start: number,
): Promise<Expected[]> {
  const client = new InfluxDB({ url: program.url, token: TENANTS.acme });
  const writer = client.getWriteApi("any-org", "any-bucket", precision, {
    gzipThreshold: gzip ? 0 : 1e9,
    batchSize: 25,
    maxRetries: 0,
  });
  const measurement = `disk io ${precision}`;
  const expected: Expected[] = [];
  for (const host of HOSTS) {
    const labels = { __name__: "", host, mount: "/var/lib,data" };
    const reads: [number, number][] = [];
    const busy: [number, number][] = [];
    for (let i = 0; i < POINTS; i++) {
      const t = start + i * STEP;
      const value = i * 1.25 - 3;
      writer.writePoint(
        new Point(measurement).tag("host", host).tag("mount", "/var/lib,data")
          .floatField("read bytes", value).intField("ops", i * 7).booleanField("busy", i % 3 === 0)
          .stringField("note", `point "${i}", host ${host}`)
          .timestamp(precision === "s" ? t / 1000 : `${t}000000`),
      );
      reads.push([t, value]);
      busy.push([t, i % 3 === 0 ? 1 : 0]);
    }
    const prefix = `disk_io_${precision}`;
    expected.push(
      {
        metric: `${prefix}_read_bytes`,
        labels: { ...labels, __name__: `${prefix}_read_bytes` },
        points: reads,
      },
      {
        metric: `${prefix}_ops`,
        labels: { ...labels, __name__: `${prefix}_ops` },
        points: reads.map(([t], i) => [t, i * 7]),
      },
      { metric: `${prefix}_busy`, labels: { ...labels, __name__: `${prefix}_busy` }, points: busy },
    );
  }
  await writer.close();
  return expected;
}

Deno.test("Influx client: v2 writes in s and ns precision, gzipped or not, read back exactly", async () => {
  await withProgram({ tenants: TENANTS }, async (program) => {
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    const expected = [...await write(program, "s", true, start), ...await write(program, "ns", false, start)];
    await program.waitForProjected();
    for (const metric of new Set(expected.map((e) => e.metric))) {
      const reply = await program.query(TENANTS.acme, {
        metric,
        agg: "last",
        from: start,
        to: start + POINTS * STEP,
        step: 1000,
        resolution: "raw",
      });
      const got = new Map(reply.series.map((s) => [labelsKey(s.labels), s.points]));
      const want = expected.filter((e) => e.metric === metric);
      assert.deepEqual([...got.keys()].sort(), want.map((e) => labelsKey(e.labels)).sort(), metric);
      for (const e of want) {
        assert.deepEqual(got.get(labelsKey(e.labels)), e.points, `${metric} ${e.labels.host}`);
      }
    }
    const note = await program.get("/v1/series?metric=disk_io_s_note", TENANTS.acme);
    assert.deepEqual(note.body, { series: [] }, "string fields are not stored");
    const globex = await program.query(TENANTS.globex, {
      metric: "disk_io_s_ops",
      agg: "count",
      from: start,
      to: start + POINTS * STEP,
      step: 60_000,
      resolution: "raw",
    });
    assert.deepEqual(globex.series, []);
  });
});
