/**
 * Throughput of the embedded command log: appends of small records and of ~200 KB
 * records (about 10k samples each), with sync=full and sync=normal, and read-back speed.
 *
 * deno run -A bench/log-append.ts
 */
import { openSqliteLog } from "../adapters/embedded-log/sqlite-log.ts";
import type { OutgoingRecord } from "../domain/ports/command-log.ts";

interface Workload {
  readonly name: string;
  readonly records: number;
  readonly valueBytes: number;
  readonly perAppend: number;
  /** Appends issued in the same tick, so group commit can merge them. */
  readonly concurrent: number;
}

const PARTITIONS = 8;
const workloads: Workload[] = [
  { name: "small 100 B, 1000/append", records: 400_000, valueBytes: 100, perAppend: 1000, concurrent: 1 },
  { name: "small 100 B, 10/append x500", records: 200_000, valueBytes: 100, perAppend: 10, concurrent: 500 },
  { name: "large 200 KB, 10/append", records: 1_000, valueBytes: 200_000, perAppend: 10, concurrent: 1 },
  { name: "large 1 MB, 4/append", records: 200, valueBytes: 1_000_000, perAppend: 4, concurrent: 1 },
];

function batchOf(w: Workload, start: number): OutgoingRecord[] {
  const value = new Uint8Array(w.valueBytes).fill(start & 255);
  return Array.from({ length: w.perAppend }, (_, i) => ({
    partition: (start + i) % PARTITIONS,
    key: `series-${(start + i).toString(16).padStart(12, "0")}`,
    value,
  }));
}

function rate(count: number, bytes: number, ms: number): string {
  const perSecond = (count / ms) * 1000;
  const mbPerSecond = (bytes / 1e6 / ms) * 1000;
  return `${Math.round(perSecond).toLocaleString("en-US").padStart(11)} rec/s ${
    mbPerSecond.toFixed(1).padStart(8)
  } MB/s`;
}

async function run(sync: "full" | "normal", w: Workload, dir: string): Promise<void> {
  const path = `${dir}/${sync}-${w.valueBytes}-${w.perAppend}.sqlite`;
  const log = openSqliteLog({ path, sync });
  await log.ensureTopic("bench", PARTITIONS);
  const transactionsBefore = log.transactionCount;
  const started = performance.now();
  for (let written = 0; written < w.records;) {
    const wave: Promise<unknown>[] = [];
    for (let c = 0; c < w.concurrent && written < w.records; c++, written += w.perAppend) {
      wave.push(log.append("bench", batchOf(w, written)));
    }
    await Promise.all(wave);
  }
  const appendMs = performance.now() - started;
  const transactions = log.transactionCount - transactionsBefore;

  const readStarted = performance.now();
  let read = 0;
  let readBytes = 0;
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (let from = 0;;) {
      const records = await log.read("bench", partition, from, 1000);
      if (records.length === 0) break;
      read += records.length;
      for (const r of records) readBytes += r.value.byteLength;
      from = records[records.length - 1].offset + 1;
    }
  }
  const readMs = performance.now() - readStarted;

  const consumeStarted = performance.now();
  const controller = new AbortController();
  let consumed = 0;
  for await (const batch of log.consume({ group: "bench", topic: "bench", signal: controller.signal })) {
    consumed += batch.records.length;
    if (consumed >= w.records) controller.abort();
  }
  const consumeMs = performance.now() - consumeStarted;
  await log.close();

  const bytes = w.records * w.valueBytes;
  console.log(
    `${`sync=${sync}`.padEnd(12)}${w.name.padEnd(30)} append ${rate(w.records, bytes, appendMs)}` +
      ` (${transactions} tx) | read ${rate(read, readBytes, readMs)} | consume ${
        rate(consumed, bytes, consumeMs)
      }`,
  );
}

await Deno.mkdir("bench/.work", { recursive: true });
const dir = await Deno.makeTempDir({ dir: "bench/.work", prefix: "log-append-" });
try {
  for (const sync of ["full", "normal"] as const) {
    for (const w of workloads) await run(sync, w, dir);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
