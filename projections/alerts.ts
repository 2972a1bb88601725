/**
 * The streaming alert projection's step: decode a log batch of `metrics.samples` and,
 * record by record, feed the samples to the evaluation and step the groups they
 * touched. Stepping per record, not per batch, makes the transitions independent of how
 * the consumer happened to batch the log, so replaying the same records into a fresh
 * evaluation yields the same transitions at the same times: that is how a restarted
 * evaluator rebuilds its windows and pending timers. (Groups fed from several
 * partitions see the partitions interleaved as the consumer reads them.)
 *
 * Records that do not decode are left to the raw projection, which dead-letters them.
 *
 * @example
 * const transitions = evaluateBatch(evaluation, batch);
 */
import type { RecordBatch } from "../domain/ports/command-log.ts";
import { decodeSampleRecord, MalformedRecord } from "../domain/sample-record.ts";
import type { GroupTransition, StreamingEvaluation } from "../domain/alerting/streaming-evaluation.ts";

export function evaluateBatch(evaluation: StreamingEvaluation, batch: RecordBatch): GroupTransition[] {
  if (evaluation.rules.length === 0) return [];
  const transitions: GroupTransition[] = [];
  for (const record of batch.records) {
    try {
      evaluation.observe(decodeSampleRecord(record.value));
    } catch (error) {
      if (!(error instanceof MalformedRecord)) throw error;
      continue;
    }
    for (const t of evaluation.evaluate()) transitions.push(t);
  }
  return transitions;
}
