/**
 * The command-log contract: every `CommandLog` (embedded SQLite, Kafka) must pass these
 * cases. Each case gets a fresh log from the factory, its own topic names and consumer
 * groups named after its topic, so a shared broker can run them too and a member one
 * case leaves behind cannot hold up another case's group.
 *
 * @example
 * commandLogContract("sqlite", async () => {
 *   const dir = await Deno.makeTempDir();
 *   const log = openSqliteLog({ path: `${dir}/log.sqlite` });
 *   return { log, cleanup: async () => { await log.close(); await Deno.remove(dir, { recursive: true }); } };
 * });
 */
import assert from "node:assert/strict";
import type { CommandLog, ConsumeOptions, LogRecord, RecordBatch } from "../../domain/ports/command-log.ts";

export type CommandLogFactory = () => Promise<{ log: CommandLog; cleanup: () => Promise<void> }>;

/** Long enough for a broker round trip; only reached when an implementation is broken. */
const DELIVERY_TIMEOUT_MS = 5_000;

export function commandLogContract(name: string, factory: CommandLogFactory): void {
  const contractCase = (title: string, body: (log: CommandLog) => Promise<void>) =>
    Deno.test({
      name: `${name}: ${title}`,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const { log, cleanup } = await factory();
        try {
          await body(log);
        } finally {
          await cleanup();
        }
      },
    });

  contractCase("ensureTopic is idempotent and keeps the first partition count", async (log) => {
    const topic = uniqueTopic("ensure");
    await log.ensureTopic(topic, 3);
    await log.append(topic, [{ partition: 2, key: "a", value: bytes("x") }]);
    await log.ensureTopic(topic, 3);
    await log.ensureTopic(topic, 5);
    const offsets = await log.offsets(topic);
    assert.deepEqual(offsets.map((o) => [o.partition, o.end]), [[0, 0], [1, 0], [2, 1]]);
  });

  contractCase("append and read round-trip keys, value bytes, partitions and dense offsets", async (log) => {
    const topic = uniqueTopic("roundtrip");
    await log.ensureTopic(topic, 3);
    const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const view = new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5);
    const before = Date.now();
    await log.append(topic, [
      { partition: 2, key: "series-a", value: allBytes },
      { partition: 0, key: "series-b", value: view },
      { partition: 2, key: "", value: new Uint8Array(0) },
    ]);
    await log.append(topic, [{ partition: 2, key: "series-c", value: bytes("third") }]);
    const after = Date.now();

    const p2 = await log.read(topic, 2, 0, 100);
    assert.deepEqual(p2.map((r) => [r.topic, r.partition, r.offset, r.key]), [
      [topic, 2, 0, "series-a"],
      [topic, 2, 1, ""],
      [topic, 2, 2, "series-c"],
    ]);
    assert.deepEqual(plainBytes(p2[0].value), plainBytes(allBytes));
    assert.equal(p2[1].value.byteLength, 0);
    assert.equal(text(p2[2].value), "third");
    // Broker and test clocks may differ a little; a zero or unset timestamp may not.
    for (const record of p2) {
      assert.ok(
        record.timestamp >= before - 60_000 && record.timestamp <= after + 60_000,
        `${record.timestamp}`,
      );
    }
    const p0 = await log.read(topic, 0, 0, 100);
    assert.deepEqual(p0.map((r) => [r.offset, r.key, plainBytes(r.value)]), [[0, "series-b", [1, 2, 3]]]);
    assert.deepEqual(await log.read(topic, 1, 0, 100), []);
    assert.deepEqual((await log.read(topic, 2, 1, 1)).map((r) => r.key), [""]);
  });

  contractCase("append rejects a missing topic or partition and writes nothing", async (log) => {
    const topic = uniqueTopic("reject");
    await log.ensureTopic(topic, 2);
    await assert.rejects(log.append(uniqueTopic("missing"), [{ partition: 0, key: "k", value: bytes("v") }]));
    await assert.rejects(
      log.append(topic, [
        { partition: 0, key: "k", value: bytes("v") },
        { partition: 2, key: "k", value: bytes("v") },
      ], { idempotencyKey: "batch-1" }),
    );
    assert.deepEqual((await log.offsets(topic)).map((o) => o.end), [0, 0]);
    const retried = await log.append(topic, [{ partition: 0, key: "k", value: bytes("v") }], {
      idempotencyKey: "batch-1",
    });
    assert.equal(retried.duplicate, false, "a rejected append must not use up its idempotency key");
    const counts = await Promise.all([0, 1].map(async (p) => (await log.read(topic, p, 0, 10)).length));
    assert.deepEqual(counts, [1, 0]);
  });

  contractCase("records keep append order within each partition", async (log) => {
    const topic = uniqueTopic("order");
    await log.ensureTopic(topic, 2);
    const expected: string[][] = [[], []];
    for (let i = 0; i < 20; i++) {
      const partition = i % 3 === 0 ? 1 : 0;
      const records = [{ partition, key: "k", value: bytes(`v${i}`) }, {
        partition: 1 - partition,
        key: "k",
        value: bytes(`w${i}`),
      }];
      for (const r of records) expected[r.partition].push(text(r.value));
      await log.append(topic, records);
    }
    for (const partition of [0, 1]) {
      const read = await log.read(topic, partition, 0, 100);
      assert.deepEqual(read.map((r) => text(r.value)), expected[partition]);
    }
    const batches = await collect(log, { group: `${topic}.g`, topic, maxRecords: 7 }, 40);
    const consumed: string[][] = [[], []];
    for (const batch of batches) {
      assert.ok(batch.records.length >= 1 && batch.records.length <= 7, `batch of ${batch.records.length}`);
      assert.equal(batch.firstOffset, batch.records[0].offset);
      assert.equal(batch.lastOffset, batch.records[batch.records.length - 1].offset);
      batch.records.forEach((r, i) => {
        assert.equal(r.partition, batch.partition);
        assert.equal(r.offset, batch.firstOffset + i);
      });
      consumed[batch.partition].push(...batch.records.map((r) => text(r.value)));
    }
    assert.deepEqual(consumed, expected);
  });

  contractCase("a consumer wakes for new records and does not redeliver what it yielded", async (log) => {
    const topic = uniqueTopic("live");
    await log.ensureTopic(topic, 1);
    const controller = new AbortController();
    const batches = log.consume({ group: `${topic}.g`, topic, signal: controller.signal })
      [Symbol.asyncIterator]();
    try {
      const waiting = nextRecords(batches, 2);
      await log.append(topic, [{ partition: 0, key: "a", value: bytes("1") }, {
        partition: 0,
        key: "b",
        value: bytes("2"),
      }]);
      assert.deepEqual((await waiting).map((r) => r.offset), [0, 1]);
      await log.append(topic, [{ partition: 0, key: "c", value: bytes("3") }]);
      const next = await nextRecords(batches, 1);
      assert.deepEqual(next.map((r) => [r.offset, r.key]), [[2, "c"]]);
    } finally {
      controller.abort();
      await batches.return?.();
    }
  });

  contractCase("a new consumer resumes after the committed offset and redelivers the rest", async (log) => {
    const topic = uniqueTopic("resume");
    await log.ensureTopic(topic, 2);
    await log.append(topic, range(5).map((i) => ({ partition: 0, key: `k${i}`, value: bytes(`${i}`) })));
    await log.append(topic, range(2).map((i) => ({ partition: 1, key: `m${i}`, value: bytes(`${i}`) })));
    const first = await collect(log, { group: `${topic}.g`, topic }, 7);
    assert.deepEqual(offsetsByPartition(first), [[0, 1, 2, 3, 4], [0, 1]]);
    await log.commit(`${topic}.g`, topic, 0, 3);
    await log.commit(`${topic}.g`, topic, 1, 2);

    await log.append(topic, [{ partition: 1, key: "m2", value: bytes("2") }]);
    const second = await collect(log, { group: `${topic}.g`, topic }, 3);
    assert.deepEqual(offsetsByPartition(second), [[3, 4], [2]]);
  });

  contractCase("two consumer groups keep independent offsets", async (log) => {
    const topic = uniqueTopic("groups");
    await log.ensureTopic(topic, 1);
    await log.append(topic, range(4).map((i) => ({ partition: 0, key: `k${i}`, value: bytes(`${i}`) })));
    await collect(log, { group: `${topic}.a`, topic }, 4);
    await log.commit(`${topic}.a`, topic, 0, 4);
    const b = await collect(log, { group: `${topic}.b`, topic }, 4);
    assert.deepEqual(offsetsByPartition(b), [[0, 1, 2, 3]]);
    await log.commit(`${topic}.b`, topic, 0, 1);
    assert.deepEqual((await log.offsets(topic, `${topic}.a`)).map((o) => o.committed), [4]);
    assert.deepEqual((await log.offsets(topic, `${topic}.b`)).map((o) => o.committed), [1]);
    await log.append(topic, [{ partition: 0, key: "k4", value: bytes("4") }]);
    const a = await collect(log, { group: `${topic}.a`, topic }, 1);
    assert.deepEqual(offsetsByPartition(a), [[4]]);
  });

  contractCase("startAt replays from any offset and falls back to the committed one", async (log) => {
    const topic = uniqueTopic("replay");
    await log.ensureTopic(topic, 2);
    await log.append(topic, range(10).map((i) => ({ partition: 0, key: `k${i}`, value: bytes(`${i}`) })));
    await log.append(topic, range(3).map((i) => ({ partition: 1, key: `m${i}`, value: bytes(`${i}`) })));
    await log.commit(`${topic}.g`, topic, 0, 8);
    const asked: [number, number | undefined][] = [];
    const replay = await collect(log, {
      group: `${topic}.g`,
      topic,
      startAt: (partition, committed) => {
        asked.push([partition, committed]);
        return partition === 0 ? 2 : undefined;
      },
    }, 11);
    assert.deepEqual(asked.sort((x, y) => x[0] - y[0]), [[0, 8], [1, undefined]]);
    assert.deepEqual(offsetsByPartition(replay), [[2, 3, 4, 5, 6, 7, 8, 9], [0, 1, 2]]);
    assert.deepEqual((await log.offsets(topic, `${topic}.g`)).map((o) => o.committed), [8, undefined]);
    const resumed = await collect(log, { group: `${topic}.g`, topic, startAt: () => undefined }, 5);
    assert.deepEqual(offsetsByPartition(resumed), [[8, 9], [0, 1, 2]]);
  });

  contractCase("an idempotency key makes a repeated append a no-op", async (log) => {
    const topic = uniqueTopic("idempotent");
    await log.ensureTopic(topic, 2);
    const batch = (tag: string) => [
      { partition: 0, key: "a", value: bytes(tag) },
      { partition: 1, key: "b", value: bytes(tag) },
    ];
    assert.deepEqual(await log.append(topic, batch("first"), { idempotencyKey: "k1" }), { duplicate: false });
    assert.deepEqual(await log.append(topic, batch("retry"), { idempotencyKey: "k1" }), { duplicate: true });
    // Counted by reading, not by end offsets: those need not be dense (Kafka's
    // transaction markers take offsets).
    const values = async () =>
      await Promise.all(
        [0, 1].map(async (p) => (await log.read(topic, p, 0, 100)).map((r) => text(r.value))),
      );
    assert.deepEqual(await values(), [["first"], ["first"]]);
    assert.deepEqual(await log.append(topic, batch("other"), { idempotencyKey: "k2" }), { duplicate: false });
    assert.deepEqual(await log.append(topic, batch("no key")), { duplicate: false });
    assert.deepEqual(await log.append(topic, batch("no key")), { duplicate: false });
    assert.deepEqual((await values())[1], ["first", "other", "no key", "no key"]);

    const racing = await Promise.all(
      range(5).map(() => log.append(topic, batch("race"), { idempotencyKey: "k3" })),
    );
    assert.equal(racing.filter((r) => !r.duplicate).length, 1);
    assert.deepEqual(await values(), [0, 1].map(() => ["first", "other", "no key", "no key", "race"]));
  });

  contractCase(
    "committing each batch's nextOffset leaves no lag behind keyed and plain appends",
    async (log) => {
      const topic = uniqueTopic("next-offset");
      await log.ensureTopic(topic, 2);
      for (let i = 0; i < 6; i++) {
        const records = [{ partition: 0, key: "a", value: bytes(`${i}`) }, {
          partition: 1,
          key: "b",
          value: bytes(`${i}`),
        }];
        await log.append(topic, records, i % 2 === 0 ? { idempotencyKey: `n${i}` } : {});
      }
      const batches = await collect(log, { group: `${topic}.g`, topic, maxRecords: 4 }, 12);
      const next = new Map<number, number>();
      for (const batch of batches) {
        assert.ok(
          batch.nextOffset > batch.lastOffset,
          `nextOffset ${batch.nextOffset} after ${batch.lastOffset}`,
        );
        const previous = next.get(batch.partition);
        if (previous !== undefined) {
          assert.ok(
            batch.firstOffset >= previous,
            `batch at ${batch.firstOffset} before nextOffset ${previous}`,
          );
        }
        next.set(batch.partition, batch.nextOffset);
        await log.commit(`${topic}.g`, topic, batch.partition, batch.nextOffset);
      }
      const offsets = await log.offsets(topic, `${topic}.g`);
      assert.deepEqual(offsets.map((o) => o.committed), offsets.map((o) => o.end));
      assert.deepEqual(offsetsByPartition(batches).map((offsets) => offsets.length), [6, 6]);
    },
  );

  contractCase("offsets report earliest, end and the group's committed offset", async (log) => {
    const topic = uniqueTopic("offsets");
    await log.ensureTopic(topic, 3);
    await log.append(topic, range(3).map((i) => ({ partition: 0, key: `k${i}`, value: bytes("v") })));
    await log.append(topic, [{ partition: 1, key: "k", value: bytes("v") }]);
    const plain = (await log.offsets(topic)).map((o) => [o.partition, o.earliest, o.end, o.committed]);
    assert.deepEqual(plain, [[0, 0, 3, undefined], [1, 0, 1, undefined], [2, 0, 0, undefined]]);
    await log.commit(`${topic}.g`, topic, 0, 2);
    await log.commit(`${topic}.g`, topic, 0, 3);
    await log.commit(`${topic}.g`, topic, 1, 1);
    const grouped = (await log.offsets(topic, `${topic}.g`)).map((o) => [o.partition, o.end, o.committed]);
    assert.deepEqual(grouped, [[0, 3, 3], [1, 1, 1], [2, 0, undefined]]);
    const other = (await log.offsets(topic, "other")).map((o) => o.committed);
    assert.deepEqual(other, [undefined, undefined, undefined]);
  });

  contractCase("consume ends when its signal aborts, also while waiting for records", async (log) => {
    const topic = uniqueTopic("abort");
    await log.ensureTopic(topic, 1);
    const controller = new AbortController();
    const batches = log.consume({ group: `${topic}.g`, topic, signal: controller.signal })
      [Symbol.asyncIterator]();
    const pending = batches.next();
    assert.equal(await settlesWithin(pending, 50), false, "an empty topic must keep the consumer waiting");
    controller.abort();
    const ended = await withTimeout(pending, DELIVERY_TIMEOUT_MS, "consume did not end after abort");
    assert.equal(ended.done, true);

    await log.append(topic, [{ partition: 0, key: "k", value: bytes("v") }]);
    const aborted = log.consume({ group: `${topic}.g`, topic, signal: AbortSignal.abort() })
      [Symbol.asyncIterator]();
    const first = await withTimeout(aborted.next(), DELIVERY_TIMEOUT_MS, "consume with an aborted signal");
    assert.equal(first.done, true, "an already aborted signal must yield nothing");
  });

  contractCase("concurrent appends from many callers all land exactly once", async (log) => {
    const topic = uniqueTopic("concurrent");
    await log.ensureTopic(topic, 3);
    const singles = range(300).map((i) =>
      log.append(topic, [{ partition: i % 3, key: `s${i}`, value: bytes(`${i}`) }])
    );
    const multis = range(10).map((i) =>
      log.append(topic, range(5).map((j) => ({ partition: j % 3, key: `m${i}.${j}`, value: bytes(`${j}`) })))
    );
    const results = await Promise.all([...singles, ...multis]);
    assert.equal(results.filter((r) => r.duplicate).length, 0);
    const keys: string[] = [];
    for (const partition of [0, 1, 2]) {
      const records = await log.read(topic, partition, 0, 10_000);
      assert.deepEqual(records.map((r) => r.offset), range(records.length));
      keys.push(...records.map((r) => r.key));
    }
    assert.equal(keys.length, 350);
    assert.equal(new Set(keys).size, 350);
    assert.deepEqual((await log.offsets(topic)).map((o) => o.end), [120, 120, 110]);
  });
}

function uniqueTopic(label: string): string {
  return `contract.${label}.${crypto.randomUUID().slice(0, 8)}`;
}

function bytes(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

function text(value: Uint8Array): string {
  return new TextDecoder().decode(value);
}

function plainBytes(value: Uint8Array): number[] {
  return Array.from(value);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function offsetsByPartition(batches: readonly RecordBatch[]): number[][] {
  const result: number[][] = [];
  for (const batch of batches) {
    for (const record of batch.records) (result[record.partition] ??= []).push(record.offset);
  }
  return Array.from(result, (offsets) => offsets ?? []);
}

/** Consumes until `count` records arrived, then stops the consumer. */
async function collect(
  log: CommandLog,
  options: Omit<ConsumeOptions, "signal">,
  count: number,
): Promise<RecordBatch[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), DELIVERY_TIMEOUT_MS);
  const batches: RecordBatch[] = [];
  let received = 0;
  try {
    for await (const batch of log.consume({ ...options, signal: controller.signal })) {
      batches.push(batch);
      received += batch.records.length;
      if (received >= count) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  assert.equal(received, count, `expected ${count} records from group "${options.group}"`);
  return batches;
}

async function nextRecords(batches: AsyncIterator<RecordBatch>, count: number): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  while (records.length < count) {
    const next = await withTimeout(batches.next(), DELIVERY_TIMEOUT_MS, `waiting for ${count} records`);
    assert.equal(next.done, false, "the consumer ended early");
    records.push(...(next.value as RecordBatch).records);
  }
  return records;
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`Timed out: ${what}`)), ms)
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
