import assert from "node:assert/strict";
import {
  openSqliteLog,
  type SqliteCommandLog,
  type SqliteLogOptions,
} from "../../adapters/embedded-log/sqlite-log.ts";
import type { RecordBatch } from "../../domain/ports/command-log.ts";
import { commandLogContract } from "./command-log.contract.ts";

for (const sync of ["full", "normal"] as const) {
  commandLogContract(`sqlite log (sync=${sync})`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "lookout-log-" });
    const log = openSqliteLog({ path: `${dir}/log.sqlite`, sync });
    return {
      log,
      cleanup: async () => {
        await log.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  });
}

/** Runs `body` with a log file in a fresh directory; `open` may be called again to reopen it. */
function sqliteCase(
  title: string,
  body: (open: (options?: Partial<SqliteLogOptions>) => SqliteCommandLog, path: string) => Promise<void>,
): void {
  Deno.test({
    name: `sqlite log: ${title}`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "lookout-log-" });
      const path = `${dir}/log.sqlite`;
      const opened: SqliteCommandLog[] = [];
      try {
        await body((options) => {
          const log = openSqliteLog({ path, ...options });
          opened.push(log);
          return log;
        }, path);
      } finally {
        for (const log of opened) await log.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

/** Bounds loops over a consumer so a broken implementation fails instead of hanging. */
const CONSUME_TIMEOUT_MS = 5_000;

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const bytes = (value: string) => new TextEncoder().encode(value);
const text = (value: Uint8Array) => new TextDecoder().decode(value);

sqliteCase("records, ends and committed offsets survive close and reopen", async (open) => {
  const first = open();
  await first.ensureTopic("t", 2);
  await first.append("t", [{ partition: 1, key: "a", value: bytes("one") }, {
    partition: 1,
    key: "b",
    value: bytes("two"),
  }]);
  await first.append("t", [{ partition: 0, key: "c", value: bytes("three") }], { idempotencyKey: "req" });
  await first.commit("g", "t", 1, 1);
  await first.close();

  const second = open();
  assert.deepEqual((await second.read("t", 1, 0, 10)).map((r) => [r.offset, r.key, text(r.value)]), [
    [0, "a", "one"],
    [1, "b", "two"],
  ]);
  assert.deepEqual((await second.offsets("t", "g")).map((o) => [o.end, o.committed]), [[1, undefined], [
    2,
    1,
  ]]);
  const again = await second.append("t", [{ partition: 0, key: "c", value: bytes("three") }], {
    idempotencyKey: "req",
  });
  assert.equal(again.duplicate, true);
  await second.append("t", [{ partition: 1, key: "d", value: bytes("four") }]);
  assert.deepEqual((await second.read("t", 1, 2, 10)).map((r) => r.offset), [2]);
});

sqliteCase("an acknowledged append survives the process exiting without close", async (open, path) => {
  const adapter = new URL("../../adapters/embedded-log/sqlite-log.ts", import.meta.url).href;
  const child = `
    import { openSqliteLog } from ${JSON.stringify(adapter)};
    const log = openSqliteLog({ path: ${JSON.stringify(path)}, sync: "normal" });
    await log.ensureTopic("t", 1);
    await log.append("t", [{ partition: 0, key: "acked", value: new Uint8Array([1, 2, 3]) }]);
    await log.commit("g", "t", 0, 1);
    Deno.exit(0);
  `;
  const { code } = await new Deno.Command(Deno.execPath(), { args: ["eval", child] }).output();
  assert.equal(code, 0);
  const log = open();
  assert.deepEqual((await log.read("t", 0, 0, 10)).map((r) => [r.key, [...r.value]]), [["acked", [1, 2, 3]]]);
  assert.deepEqual((await log.offsets("t", "g")).map((o) => o.committed), [1]);
});

sqliteCase("pruning drops records past retention and advances earliest", async (open) => {
  let now = 1_000_000;
  const log = open({ retentionMs: 500, now: () => now });
  await log.ensureTopic("t", 2);
  await log.append("t", [0, 1, 2].map((i) => ({ partition: 0, key: `old${i}`, value: bytes("x") })));
  now += 400;
  await log.append("t", [0, 1].map((i) => ({ partition: 0, key: `new${i}`, value: bytes("y") })));
  await log.append("t", [{ partition: 1, key: "old", value: bytes("z") }]);
  await log.commit("g", "t", 0, 1);

  now += 200;
  assert.deepEqual(log.prune(), { records: 3, keys: 0 });
  assert.deepEqual((await log.offsets("t")).map((o) => [o.earliest, o.end]), [[3, 5], [0, 1]]);
  assert.deepEqual((await log.read("t", 0, 0, 10)).map((r) => r.key), ["new0", "new1"]);
  const batches: RecordBatch[] = [];
  for await (
    const batch of log.consume({ group: "g", topic: "t", signal: AbortSignal.timeout(CONSUME_TIMEOUT_MS) })
  ) {
    batches.push(batch);
    if (batches.length === 2) break;
  }
  assert.deepEqual(batches.map((b) => [b.partition, b.firstOffset, b.lastOffset]), [[0, 3, 4], [1, 0, 0]]);

  now += 10_000;
  log.prune();
  assert.deepEqual((await log.offsets("t")).map((o) => [o.earliest, o.end]), [[5, 5], [1, 1]]);
  await log.append("t", [{ partition: 0, key: "later", value: bytes("w") }]);
  assert.deepEqual((await log.read("t", 0, 0, 10)).map((r) => [r.offset, r.key]), [[5, "later"]]);
});

sqliteCase("appends and commits made in one tick share one transaction", async (open) => {
  const log = open();
  await log.ensureTopic("t", 4);
  const before = log.transactionCount;
  const results = await Promise.all([
    ...Array.from(
      { length: 200 },
      (_, i) => log.append("t", [{ partition: i % 4, key: `k${i}`, value: bytes("v") }]),
    ),
    log.commit("g", "t", 0, 0),
  ]);
  assert.equal(results.length, 201);
  assert.equal(log.transactionCount - before, 1);
  assert.deepEqual((await log.offsets("t")).map((o) => o.end), [50, 50, 50, 50]);

  await log.append("t", [{ partition: 0, key: "a", value: bytes("v") }]);
  await log.append("t", [{ partition: 0, key: "b", value: bytes("v") }]);
  assert.equal(log.transactionCount - before, 3, "appends awaited one by one commit separately");
});

sqliteCase("a rejected append in a group commit does not fail its neighbours", async (open) => {
  const log = open();
  await log.ensureTopic("t", 1);
  const [good, bad, other] = await Promise.allSettled([
    log.append("t", [{ partition: 0, key: "a", value: bytes("v") }]),
    log.append("t", [{ partition: 0, key: "b", value: bytes("v") }, {
      partition: 1,
      key: "c",
      value: bytes("v"),
    }]),
    log.append("t", [{ partition: 0, key: "d", value: bytes("v") }]),
  ]);
  assert.equal(good.status, "fulfilled");
  assert.equal(other.status, "fulfilled");
  assert.equal(bad.status, "rejected");
  assert.match(
    String((bad as PromiseRejectedResult).reason),
    /partition 1 is outside the topic's partitions 0\.\.0/,
  );
  assert.deepEqual((await log.read("t", 0, 0, 10)).map((r) => [r.offset, r.key]), [[0, "a"], [1, "d"]]);
  await assert.rejects(log.append("nope", []), /topic "nope" does not exist/);
});

sqliteCase("an idempotency key appends again once its window has passed", async (open) => {
  let now = 5_000;
  const log = open({ idempotencyWindowMs: 1_000, now: () => now });
  await log.ensureTopic("t", 1);
  await log.ensureTopic("u", 1);
  const record = [{ partition: 0, key: "k", value: bytes("v") }];
  assert.equal((await log.append("t", record, { idempotencyKey: "req" })).duplicate, false);
  assert.equal(
    (await log.append("u", record, { idempotencyKey: "req" })).duplicate,
    false,
    "keys are per topic",
  );
  now += 999;
  assert.equal((await log.append("t", record, { idempotencyKey: "req" })).duplicate, true);
  now += 1;
  assert.equal((await log.append("t", record, { idempotencyKey: "req" })).duplicate, false);
  assert.deepEqual((await log.offsets("t")).map((o) => o.end), [2]);

  now += 5_000;
  assert.equal(log.prune().keys, 2);
});

sqliteCase("an append wakes a waiting consumer without waiting for the poll", async (open) => {
  const log = open({ pollIntervalMs: 60_000 });
  await log.ensureTopic("t", 1);
  const controller = new AbortController();
  const batches = log.consume({ group: "g", topic: "t", signal: controller.signal })[Symbol.asyncIterator]();
  const next = batches.next();
  await new Promise((resolve) => setTimeout(resolve, 10));
  await log.append("t", [{ partition: 0, key: "k", value: bytes("v") }]);
  const result = await withTimeout(next, 1_000, "the append did not wake the consumer");
  assert.equal((result.value as RecordBatch).records[0].key, "k");
  controller.abort();
  assert.equal((await withTimeout(batches.next(), 1_000, "abort did not end the consumer")).done, true);
});

sqliteCase("a consumer sees records appended through another connection to the file", async (open) => {
  const reader = open({ pollIntervalMs: 20 });
  await reader.ensureTopic("t", 1);
  const writer = open();
  const controller = new AbortController();
  const batches = reader.consume({ group: "g", topic: "t", signal: controller.signal })
    [Symbol.asyncIterator]();
  const next = batches.next();
  await writer.append("t", [{ partition: 0, key: "elsewhere", value: bytes("v") }]);
  const result = await withTimeout(next, 2_000, "the poll did not see the other connection's append");
  assert.equal((result.value as RecordBatch).records[0].key, "elsewhere");
  controller.abort();
});

sqliteCase("consume round-robins over partitions with data", async (open) => {
  const log = open();
  await log.ensureTopic("t", 3);
  await log.append(
    "t",
    [0, 0, 0, 2, 2, 2].map((partition, i) => ({ partition, key: `k${i}`, value: bytes("v") })),
  );
  const order: number[] = [];
  for await (
    const batch of log.consume({
      group: "g",
      topic: "t",
      maxRecords: 1,
      signal: AbortSignal.timeout(CONSUME_TIMEOUT_MS),
    })
  ) {
    order.push(batch.partition);
    if (order.length === 6) break;
  }
  assert.deepEqual(order, [0, 2, 0, 2, 0, 2]);
});

sqliteCase("megabyte values round-trip and consumer batches stop at the byte budget", async (open) => {
  const log = open({ maxBatchBytes: 2_500_000 });
  await log.ensureTopic("t", 1);
  const values = Array.from(
    { length: 5 },
    (_, i) => Uint8Array.from({ length: 1_000_000 }, (_, j) => (i * 7 + j) & 255),
  );
  await log.append("t", values.map((value, i) => ({ partition: 0, key: `k${i}`, value })));
  const read = await log.read("t", 0, 0, 10);
  assert.equal(read.length, 5);
  read.forEach((record, i) => assert.ok(record.value.every((b, j) => b === values[i][j]), `value ${i}`));
  const sizes: number[] = [];
  for await (
    const batch of log.consume({ group: "g", topic: "t", signal: AbortSignal.timeout(CONSUME_TIMEOUT_MS) })
  ) {
    sizes.push(batch.records.length);
    if (sizes.reduce((a, b) => a + b) >= 5) break;
  }
  assert.deepEqual(sizes, [3, 2]);
});

sqliteCase("close ends waiting consumers and refuses further work", async (open) => {
  const log = open();
  await log.ensureTopic("t", 1);
  const batches = log.consume({ group: "g", topic: "t" })[Symbol.asyncIterator]();
  const next = batches.next();
  const pending = log.append("t", [{ partition: 0, key: "queued", value: bytes("v") }]);
  await log.close();
  assert.equal((await pending).duplicate, false, "appends queued before close are written");
  assert.equal((await next).done, true);
  await assert.rejects(log.append("t", []), /command log is closed/);
  const reopened = open();
  assert.deepEqual((await reopened.read("t", 0, 0, 10)).map((r) => r.key), ["queued"]);
});

sqliteCase("consuming a missing topic fails with the topic's name", async (open) => {
  const log = open();
  const batches = log.consume({ group: "g", topic: "absent" })[Symbol.asyncIterator]();
  await assert.rejects(batches.next(), /topic "absent" does not exist/);
});

sqliteCase(
  "a consumer on another connection of the file wakes on an append through this one (peers)",
  async (open) => {
    // Polls only once a minute: only the peers channel can wake it within the test's bound.
    const writer = open({ peers: "lookout-log:peers-test", pollIntervalMs: 60_000 });
    await writer.ensureTopic("t", 1);
    const reader = open({ peers: "lookout-log:peers-test", pollIntervalMs: 60_000 });
    const abort = new AbortController();
    const batches = reader.consume({ group: "g", topic: "t", signal: abort.signal })[Symbol.asyncIterator]();
    const first = batches.next();
    // Let the consumer find the topic empty and wait.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writer.append("t", [{ partition: 0, key: "k", value: new TextEncoder().encode("v") }]);
    const { value } = await withTimeout(first, CONSUME_TIMEOUT_MS, "the woken consumer's batch");
    assert.equal(new TextDecoder().decode((value as RecordBatch).records[0].value), "v");
    abort.abort();
  },
);
