/**
 * The dead-letter topic of a projection, `<topic>.dlq`: one record per record the
 * projection gave up on, its value a JSON line (projection, partition, offset, reason)
 * followed by the original bytes, so an operator can read why and replay what. Appends
 * carry an idempotency key from the record's position, so a batch handled again
 * dead-letters nothing twice.
 *
 * @example
 * await deadLetter(log, "raw", "metrics.samples", [{ record, reason: "bad magic" }]);
 */
import type { CommandLog } from "../domain/ports/command-log.ts";
import type { DeadLetter } from "../projections/projection.ts";

const encoder = new TextEncoder();

export async function deadLetter(
  log: CommandLog,
  projection: string,
  topic: string,
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) return;
  const dlq = `${topic}.dlq`;
  await log.ensureTopic(dlq, 1);
  for (const { record, reason } of letters) {
    const header = encoder.encode(
      JSON.stringify({ projection, partition: record.partition, offset: record.offset, reason }) + "\n",
    );
    const value = new Uint8Array(header.length + record.value.length);
    value.set(header);
    value.set(record.value, header.length);
    await log.append(dlq, [{ partition: 0, key: record.key, value }], {
      idempotencyKey: `${projection}:${record.topic}:${record.partition}:${record.offset}`,
    });
  }
}
