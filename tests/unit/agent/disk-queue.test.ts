import assert from "node:assert/strict";
import { DiskQueue } from "../../../adapters/agent/disk-queue.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "agent-queue-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("disk queue: batches come back oldest first, also after the process is gone", () =>
  withDir(async (dir) => {
    const first = await DiskQueue.open({ dir, maxBytes: 1 << 20 });
    const a = await first.push(bytes("a"), 1);
    await first.push(bytes("bb"), 2);
    await first.push(bytes("ccc"), 3);
    assert.equal(first.next(), a);
    await first.remove(a);
    // A write cut short leaves only its temporary file, which is not a batch.
    await Deno.writeFile(`${dir}/0000000000000009-x.batch.tmp`, bytes("partial"));

    const reopened = await DiskQueue.open({ dir, maxBytes: 1 << 20 });
    assert.equal(reopened.length, 2);
    assert.equal(reopened.bytes, 5);
    const b = reopened.next()!;
    assert.equal(text(await reopened.read(b)), "bb");
    assert.equal(b.samples, 2);
    await reopened.remove(b);
    const c = reopened.next()!;
    assert.equal(text(await reopened.read(c)), "ccc");
    const d = await reopened.push(bytes("d"), 1);
    assert.ok(d.sequence > c.sequence, "sequence numbers continue after a restart");
    assert.notEqual(d.key, c.key);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.equal(names.filter((n) => n.endsWith(".tmp")).length, 0);
  }));

Deno.test("disk queue: over its size it drops the oldest, never the batch being sent, and counts", () =>
  withDir(async (dir) => {
    const queue = await DiskQueue.open({ dir, maxBytes: 10 });
    const sending = await queue.push(bytes("1234"), 4);
    assert.equal(queue.next(), sending);
    await queue.push(bytes("5678"), 4);
    await queue.push(bytes("abcd"), 4); // 12 bytes: the oldest not being sent goes
    assert.deepEqual(queue.dropped, { batches: 1, samples: 4 });
    assert.equal(queue.length, 2);
    await queue.remove(sending);
    assert.equal(text(await queue.read(queue.next()!)), "abcd");
  }));
