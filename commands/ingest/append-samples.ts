/**
 * The ingest command handler: a validated batch becomes one log record per partition
 * (every sample of a series lands in the partition of its id), appended atomically
 * under the request's idempotency key, so a retried request is accepted again but
 * stored once.
 *
 * @example
 * const { duplicate } = await appendSamples(sampleLog, decoded.batch, "acme:" + key);
 */
import type { AppendResult, CommandLog, OutgoingRecord } from "../../domain/ports/command-log.ts";
import { encodePartitionRecords } from "../../domain/partition-records.ts";
import type { SampleBatch } from "../../domain/sample-batch.ts";

export interface SampleLog {
  readonly log: CommandLog;
  readonly topic: string;
  readonly partitions: number;
}

export async function appendSamples(
  target: SampleLog,
  batch: SampleBatch,
  idempotencyKey: string,
): Promise<AppendResult> {
  if (batch.length === 0) return { duplicate: false };
  const records: OutgoingRecord[] = [];
  for (const { partition, value } of encodePartitionRecords(batch, target.partitions)) {
    records.push({ partition, key: batch.tenant, value });
  }
  return await target.log.append(target.topic, records, {
    idempotencyKey: `${batch.tenant}:${idempotencyKey}`,
  });
}
