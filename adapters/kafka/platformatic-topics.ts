/**
 * Topics of the Kafka command log through `@platformatic/kafka`: creating them with the
 * log's replication, retention and record size, waiting until each partition has a
 * leader, and the partition count appends are checked against, cached per topic (what
 * `TopicCatalog` does for kafkajs).
 */
import type { Admin, Consumer } from "@platformatic/kafka";
import { NotFound } from "../../domain/errors.ts";
import type { TopicSettings } from "./topic-catalog.ts";

export class PlatformaticTopics {
  readonly #partitions = new Map<string, number>();

  constructor(
    private readonly admin: Admin,
    private readonly consumer: Consumer,
    private readonly options: TopicSettings,
  ) {}

  /** Creates the topic unless present (a present topic keeps its partitions). */
  async create(topic: string, partitions: number, config: Record<string, string>): Promise<void> {
    const configs = Object.entries({
      "max.message.bytes": String(this.options.maxMessageBytes ?? 64 * 1024 * 1024),
      ...config,
    }).map(([name, value]) => ({ name, value }));
    try {
      await this.admin.createTopics({
        topics: [topic],
        partitions,
        replicas: this.options.replicationFactor ?? 1,
        configs,
      });
    } catch (error) {
      // Present already (another process created it): that is the outcome asked for.
      if ((await this.#count(topic)) === 0) throw error;
    }
    await this.#awaitLeaders(topic);
    this.#partitions.delete(topic);
  }

  /** The topic's partition count; `action` names what fails when the topic is missing. */
  async partitionCount(topic: string, action: string): Promise<number> {
    const known = this.#partitions.get(topic) ?? await this.#count(topic);
    if (known === 0) throw new NotFound(`Cannot ${action}: topic "${topic}" does not exist`);
    this.#partitions.set(topic, known);
    return known;
  }

  async #count(topic: string): Promise<number> {
    try {
      const metadata = await this.consumer.metadata({ topics: [topic], forceUpdate: true });
      return metadata.topics.get(topic)?.partitionsCount ?? 0;
    } catch (error) {
      if (/UNKNOWN_TOPIC|does not host this topic/i.test(describe(error))) return 0;
      throw error;
    }
  }

  async #awaitLeaders(topic: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metadata = await this.consumer.metadata({ topics: [topic], forceUpdate: true }).catch(() =>
        undefined
      );
      const partitions = metadata?.topics.get(topic)?.partitions ?? [];
      if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return;
      if (Date.now() > deadline) {
        throw new Error(`Cannot use topic "${topic}": its partitions have no leader`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The error's message and those of the errors it carries (the client nests them). */
function describe(error: unknown): string {
  const e = error as { message?: string; errors?: unknown[]; apiId?: string; cause?: unknown };
  return [
    e?.message ?? String(error),
    e?.apiId ?? "",
    ...(e?.errors ?? []).map(describe),
    e?.cause ? describe(e.cause) : "",
  ]
    .join(" ");
}
