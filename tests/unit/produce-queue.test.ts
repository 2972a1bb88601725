/**
 * The keyed produce queue waits after each commit until the records are readable (the
 * partitions' last stable offset past them). After a broker restart the commit markers
 * come only when the restarted coordinator completes the commit, so that wait can fail
 * for a transaction that did commit: the appends are answered as unavailable, and a
 * retry of one of their keys must then be a duplicate, not a second append. The broker's
 * late markers cannot be produced on demand with a real broker, hence a producer and a
 * stable-offset lister of the test's own.
 */
import assert from "node:assert/strict";
import type { TopicMessages } from "kafkajs";
import { type KeyLedger, ProduceQueue, type QueueProducer } from "../../adapters/kafka/produce-queue.ts";
import type { StableOffsets } from "../../adapters/kafka/stable-offsets.ts";
import { Unavailable } from "../../domain/errors.ts";

const OPTIONS = { maxPendingBytes: 1 << 20, ackTimeoutMs: 300, maxRequestBytes: 1 << 20 };
const batch: TopicMessages[] = [{ topic: "t", messages: [{ partition: 0, value: "v" }] }];

/** A broker of one partition: each committed transaction's record is readable once `visible` says so. */
function broker() {
  const state = { committed: 0, sent: 0, visible: true };
  const producer = (): QueueProducer => ({
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    sendBatch: () => Promise.resolve(),
    transaction: () => {
      let offset = -1;
      return Promise.resolve({
        sendBatch: () => {
          offset = state.sent++;
          return Promise.resolve([{ topic: "t", partition: 0, baseOffset: offset }]);
        },
        commit: () => {
          state.committed++;
          return Promise.resolve();
        },
      });
    },
  });
  // The last stable offset: past every committed record, or stuck before the newest.
  const stable: StableOffsets = () =>
    Promise.resolve(new Map([[0, state.visible ? state.sent : state.sent - 1]]));
  const landed = new Set<string>();
  const ledger: KeyLedger = {
    known: (keys) => Promise.resolve(new Set(keys.filter((k) => landed.has(k)))),
    landed: (keys) => keys.forEach((k) => landed.add(k)),
  };
  return { state, queue: new ProduceQueue(producer, OPTIONS, ledger, stable) };
}

Deno.test("produce queue: a keyed append resolves once its record is readable", async () => {
  const { state, queue } = broker();
  state.visible = false;
  let resolved = false;
  const append = queue.send(batch, "k1").then((duplicate) => (resolved = true, duplicate));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(state.committed, 1);
  assert.equal(resolved, false, "answered before the record was readable");
  state.visible = true;
  assert.equal(await append, false);
});

Deno.test("produce queue: a commit whose markers are late is answered unavailable, and its retry is a duplicate", async () => {
  const { state, queue } = broker();
  state.visible = false;
  await assert.rejects(queue.send(batch, "k1"), Unavailable);
  assert.equal(state.committed, 1);
  // Past the queue's own wait for the markers too, before they come.
  await new Promise((resolve) => setTimeout(resolve, OPTIONS.ackTimeoutMs));
  state.visible = true;
  assert.equal(await queue.send(batch, "k1"), true, "the retry of a committed key is a duplicate");
  assert.equal(state.sent, 1, "the record was sent once");
  assert.equal(await queue.send(batch, "k2"), false);
  assert.equal(state.sent, 2);
});
