/**
 * Where a duplicate came from, for the Kafka fault tests: reads every committed record of
 * `metrics.samples` and counts, per probe sample (sender, shard, timestamp), how many
 * records carry it. A sample stored twice in raw but carried once in the log was
 * projected twice; one carried twice was appended twice (ingest). The report names the
 * partitions and offsets of the records that carry the same sample.
 *
 * @example
 * console.log(await logCopies(broker.brokers));   // "log: 0 samples in more than one record"
 */
import { openKafkaLog } from "../../adapters/kafka/kafka-log.ts";
import { decodeSampleRecord } from "../../domain/sample-record.ts";
import { METRIC } from "./probe-load.ts";

const TOPIC = "metrics.samples";

/** A one-line summary and, when some sample sits in several records, where they are. */
export async function logCopies(brokers: string): Promise<string> {
  const log = openKafkaLog({ brokers: brokers.split(","), clientId: "lookout-test-log-copies" });
  try {
    const carriers = new Map<string, string[]>();
    for (const { partition, earliest, end } of await log.offsets(TOPIC)) {
      for (let offset = earliest; offset < end;) {
        const records = await log.read(TOPIC, partition, offset, 1_000);
        if (records.length === 0) break;
        for (const record of records) {
          offset = record.offset + 1;
          const batch = decodeSampleRecord(record.value);
          for (let i = 0; i < batch.length; i++) {
            const series = batch.series[batch.seriesIndex[i]];
            if (series.metric !== METRIC) continue;
            const key = `${series.labels.sender}/${series.labels.shard}@${batch.timestamps[i]}`;
            const at = `${partition}:${record.offset}`;
            const list = carriers.get(key);
            if (!list) carriers.set(key, [at]);
            else if (!list.includes(at)) list.push(at);
          }
        }
      }
    }
    const repeated = [...carriers].filter(([, at]) => at.length > 1);
    const places = new Set(repeated.map(([, at]) => at.join(" and ")));
    const lines = [
      `log: ${carriers.size} probe samples, ${repeated.length} of them in more than one record`,
      ...[...places].slice(0, 20).map((p) => `  the same samples in records ${p}`),
    ];
    return lines.join("\n");
  } finally {
    await log.close();
  }
}
