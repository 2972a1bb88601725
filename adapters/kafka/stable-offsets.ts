/**
 * Read-your-writes for transactional appends. The broker answers a transaction's commit
 * once the commit is decided, before its markers are written to the partitions, and
 * until a partition's marker is in, its last stable offset (what read-committed readers
 * see up to) stays at or before the transaction's first record there. An append resolves
 * only once its records are readable (the port's contract), so the keyed queue waits
 * here after each commit: until every partition written has a last stable offset past
 * the first offset the transaction wrote to it.
 *
 * @example
 * await untilStable(written, (topic, partitions) => listStableOffsets(topic, partitions), 10_000);
 */
import { Unavailable } from "../../domain/errors.ts";

/** Where a produce request's records begin in one partition. */
export interface WrittenBatch {
  readonly topic: string;
  readonly partition: number;
  readonly baseOffset: number;
}

/** Each partition's last stable offset (ListOffsets, latest, read committed). */
export type StableOffsets = (
  topic: string,
  partitions: readonly number[],
) => Promise<ReadonlyMap<number, number>>;

export async function untilStable(
  written: readonly WrittenBatch[],
  stable: StableOffsets,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting = [...written];
  for (let pause = 1; waiting.length > 0; pause = Math.min(pause * 2, 50)) {
    const still: WrittenBatch[] = [];
    for (const topic of new Set(waiting.map((w) => w.topic))) {
      const mine = waiting.filter((w) => w.topic === topic);
      const offsets = await stable(topic, [...new Set(mine.map((w) => w.partition))]);
      still.push(...mine.filter((w) => (offsets.get(w.partition) ?? -1) <= w.baseOffset));
    }
    waiting = still;
    if (waiting.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Unavailable(
        `Cannot append to the command log: the transaction committed but ${waiting.length} partition(s) ` +
          `did not become readable within ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
