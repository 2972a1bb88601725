/**
 * The Kafka log's idempotency-key window, over a reader that answers what a read-committed
 * fetch of the keys topic would: the records of committed transactions, per partition.
 * A transaction whose commit the producer saw fail may still have committed (the broker
 * finishes a commit it took before it died); the window must find its keys, whichever
 * partitions they sit in, before any retry of them is decided.
 */
import assert from "node:assert/strict";
import { IdempotencyWindow } from "../../adapters/kafka/idempotency-window.ts";
import type { PartitionReader } from "../../adapters/kafka/partition-reader.ts";
import type { LogRecord } from "../../domain/ports/command-log.ts";

const NOW = 1_800_000_000_000;
const PARTITIONS = 4;

class CommittedKeys {
  readonly partitions: LogRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  reads = 0;

  /** A key committed by a transaction this window was not told about. */
  commit(window: IdempotencyWindow, key: string): void {
    const partition = partitionOf(window, key);
    const records = this.partitions[partition];
    records.push({
      topic: "keys",
      partition,
      offset: records.length,
      timestamp: NOW,
      key,
      value: new Uint8Array([1]),
    });
  }

  read(_topic: string, partition: number, from: number, max: number): Promise<LogRecord[]> {
    this.reads++;
    return Promise.resolve(this.partitions[partition].filter((r) => r.offset >= from).slice(0, max));
  }
}

function partitionOf(window: IdempotencyWindow, key: string): number {
  return window.record(key).messages[0].partition!;
}

function setup(windowMs = 3_600_000, now = () => NOW) {
  const committed = new CommittedKeys();
  const window = new IdempotencyWindow(committed as unknown as PartitionReader, {
    topic: "keys",
    partitions: PARTITIONS,
    windowMs,
    now,
  });
  return { committed, window };
}

/** Two keys that the window keeps in different partitions of the keys topic. */
function keysInTwoPartitions(window: IdempotencyWindow): [string, string] {
  const first = "metrics.samples\u0000request-0";
  for (let i = 1;; i++) {
    const other = `metrics.samples\u0000request-${i}`;
    if (partitionOf(window, other) !== partitionOf(window, first)) return [first, other];
  }
}

Deno.test("idempotency window: a refresh reads every partition, so a key in doubt elsewhere is found", async () => {
  const { committed, window } = setup();
  const [inDoubt, next] = keysInTwoPartitions(window);
  // The transaction holding `inDoubt` failed for the producer but committed on the broker;
  // the next request, with other keys only, is decided after a refresh.
  committed.commit(window, inDoubt);
  assert.deepEqual([...await window.known([next], true)], []);
  // The retry of `inDoubt` comes after the refresh and is decided without another read.
  const reads = committed.reads;
  assert.deepEqual([...await window.known([inDoubt], false)], [inDoubt]);
  assert.equal(committed.reads, reads, "a decision without refresh reads nothing");
});

Deno.test("idempotency window: landed keys are known at once; keys past the window are not", async () => {
  let now = NOW;
  const { window } = setup(60_000, () => now);
  const [a, b] = keysInTwoPartitions(window);
  window.landed([a]);
  assert.deepEqual([...await window.known([a, b], false)], [a]);
  assert.equal(await window.seen(b), false);
  now += 60_001;
  assert.deepEqual([...await window.known([a, b], false)], []);
});
