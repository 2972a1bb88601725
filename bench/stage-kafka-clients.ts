/**
 * Stage `kafka-clients`: the two Kafka clients behind the command-log port, kafkajs and
 * `@platformatic/kafka`, on one broker started by this run. Each measurement is a
 * process of its own (so neither client's JIT or heap weighs on the other), run in
 * turns, the order swapped every repetition:
 * - produce: keyed appends of sample records exactly as ingest writes them (bodies of
 *   10k series × 1 point, each body under its own idempotency key, so each group-commit
 *   request is one transaction), all bodies of a round in flight at once;
 * - consume: a fresh consumer group reads the produced topic to its end, committing
 *   every batch, as a projector does.
 * CPU is the client process's (from after its warm-up round) plus the broker's over the
 * same span; figures are samples per CPU-second.
 *
 * deno run -A bench/stage-kafka-clients.ts [--quick] [--repeat N] [--out file]
 * (a process started with `--member` is one measurement; the stage starts them itself)
 */
import { KAFKA_CLIENTS, type KafkaClient, openKafkaClientLog } from "../adapters/kafka/kafka-client.ts";
import { startKafka } from "./kafka-broker.ts";
import { argValue, cpuSeconds, fmt, lineReader, workDir, writeResult } from "./proc.ts";
import { BODIES_10K, fillLog, recordTemplates } from "./sample-records.ts";

const args = Deno.args;
const SHAPE = BODIES_10K;

type Phase = "produce" | "consume";

if (args.includes("--member")) await member();
else await stage();

/** One measurement: prints "start" once warmed up, then its own CPU-s and wall s when done. */
async function member(): Promise<void> {
  const client = argValue(args, "--client") as KafkaClient;
  const phase = argValue(args, "--phase") as Phase;
  const topic = argValue(args, "--topic")!;
  const rounds = Number(argValue(args, "--rounds"));
  const log = openKafkaClientLog(client, {
    brokers: [argValue(args, "--brokers")!],
    clientId: `bench-${client}`,
  });
  const baseMs = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
  let run: () => Promise<number>;
  if (phase === "produce") {
    for (const t of [topic, `${topic}.warm-up`]) await log.ensureTopic(t, SHAPE.partitions);
    await fillLog(log, `${topic}.warm-up`, SHAPE, 1, baseMs);
    run = async () => (await fillLog(log, topic, SHAPE, rounds, baseMs), SHAPE.series * rounds);
  } else {
    const records = recordTemplates(SHAPE).flat().length * rounds;
    run = async () => {
      const read = await consumeAll(log, topic, records);
      if (read !== records) throw new Error(`consumed ${read} records of ${records}`);
      return SHAPE.series * rounds;
    };
  }
  console.log("start");
  const cpu = cpuSeconds("self");
  const started = performance.now();
  const records = await run();
  console.log(
    JSON.stringify({
      samples: records,
      cpuSeconds: cpuSeconds("self") - cpu,
      wallSeconds: (performance.now() - started) / 1000,
    }),
  );
  await log.close();
  Deno.exit(0);
}

/** Reads the topic in a fresh group, committing every batch, until it has `records`; the records read. */
async function consumeAll(
  log: ReturnType<typeof openKafkaClientLog>,
  topic: string,
  records: number,
): Promise<number> {
  const controller = new AbortController();
  const group = `bench-consume-${crypto.randomUUID().slice(0, 8)}`;
  let read = 0;
  for await (const batch of log.consume({ group, topic, signal: controller.signal })) {
    read += batch.records.length;
    await log.commit(group, topic, batch.partition, batch.nextOffset);
    if (read >= records) controller.abort();
  }
  return read;
}

interface Measurement {
  readonly client: KafkaClient;
  readonly phase: Phase;
  readonly repetition: number;
  readonly samples: number;
  readonly clientCpuSeconds: number;
  readonly brokerCpuSeconds: number;
  readonly wallSeconds: number;
  /** Samples per CPU-second of client and broker together. */
  readonly perCpuSecond: number;
  /** Samples per CPU-second of the client process alone. */
  readonly perClientCpuSecond: number;
  readonly loadAverage: string;
}

async function stage(): Promise<void> {
  const quick = args.includes("--quick");
  const rounds = quick ? 10 : 20;
  const repeat = Number(argValue(args, "--repeat") ?? (quick ? 1 : 2));
  const dir = await workDir("kafka-clients-");
  const kafka = await startKafka(dir);
  const results: Measurement[] = [];
  try {
    for (let repetition = 0; repetition < repeat; repetition++) {
      const order = repetition % 2 === 0 ? [...KAFKA_CLIENTS] : [...KAFKA_CLIENTS].reverse();
      for (const client of order) {
        const topic = `clients.${client}.${repetition}`;
        for (const phase of ["produce", "consume"] as const) {
          const m = await measure({ client, phase, repetition, topic, rounds }, kafka.brokers, kafka.pid);
          results.push(m);
          console.error(
            `kafka-clients: ${client.padEnd(12)} ${phase.padEnd(7)} ${fmt.rate(m.samples)} samples in ` +
              `${fmt.seconds(m.wallSeconds)} s; client ${fmt.seconds(m.clientCpuSeconds)} + broker ` +
              `${fmt.seconds(m.brokerCpuSeconds)} CPU-s = ${fmt.rate(m.perCpuSecond)} samples/CPU-s ` +
              `(client alone ${fmt.rate(m.perClientCpuSecond)}), load ${m.loadAverage}`,
          );
        }
      }
    }
  } finally {
    await kafka.stop();
  }
  for (const phase of ["produce", "consume"] as const) {
    const total = (client: KafkaClient, pick: (m: Measurement) => number) =>
      results.filter((m) => m.client === client && m.phase === phase).reduce((sum, m) => sum + pick(m), 0);
    const ratio = (pick: (m: Measurement) => number) =>
      (total("platformatic", (m) => m.samples) / total("platformatic", pick)) /
      (total("kafkajs", (m) => m.samples) / total("kafkajs", pick));
    console.error(
      `kafka-clients: ${phase}: platformatic / kafkajs = ${
        ratio((m) => m.clientCpuSeconds + m.brokerCpuSeconds).toFixed(2)
      }× per CPU-second (client + broker), ${ratio((m) => m.clientCpuSeconds).toFixed(2)}× per client ` +
        `CPU-second, ${ratio((m) => m.wallSeconds).toFixed(2)}× per wall second`,
    );
  }
  await writeResult(args, { stage: "kafka-clients", rounds, results });
}

async function measure(
  run: { client: KafkaClient; phase: Phase; repetition: number; topic: string; rounds: number },
  brokers: string,
  brokerPid: number,
): Promise<Measurement> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--member",
      ...["--client", run.client, "--phase", run.phase, "--topic", run.topic],
      ...["--rounds", String(run.rounds), "--brokers", brokers],
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const next = lineReader(child.stdout);
  if ((await next()) !== "start") throw new Error(`the ${run.client} ${run.phase} process did not start`);
  const brokerBefore = cpuSeconds(brokerPid);
  const line = await next();
  const brokerCpuSeconds = cpuSeconds(brokerPid) - brokerBefore;
  const loadAverage = Deno.loadavg().map((l) => l.toFixed(1)).join(" ");
  if (!(await child.status).success || line === undefined) {
    throw new Error(`the ${run.client} ${run.phase} process failed`);
  }
  const { samples, cpuSeconds: clientCpuSeconds, wallSeconds } = JSON.parse(line);
  return {
    client: run.client,
    phase: run.phase,
    repetition: run.repetition,
    samples,
    clientCpuSeconds,
    brokerCpuSeconds,
    wallSeconds,
    perCpuSecond: samples / (clientCpuSeconds + brokerCpuSeconds),
    perClientCpuSecond: samples / clientCpuSeconds,
    loadAverage,
  };
}
