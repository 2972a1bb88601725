/**
 * The pieces of kafkajs' cluster layer this adapter uses directly. kafkajs has no public
 * API to fetch a partition from an offset without joining a consumer group, nor to commit
 * a group's offset without being a member, and the command log port needs both (`read`
 * for replays, `commit` from any process). Its `Kafka` instance builds clusters through a
 * private factory; this module finds it and types the few calls made on the result.
 * kafkajs is pinned to an exact version in package.json, so the shape cannot drift.
 */
import type { Kafka } from "kafkajs";

export interface FetchedMessage {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly isControlRecord?: boolean;
  /** The record batch the record came in: whose producer, and whether in a transaction. */
  readonly batchContext?: { readonly producerId: string; readonly inTransaction: boolean };
}

export interface FetchedPartition {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: string;
  /** Transactions aborted within the fetched range, by where each began. */
  readonly abortedTransactions?: readonly { producerId: string; firstOffset: string }[];
  readonly messages: readonly FetchedMessage[];
}

interface FetchRequest {
  readonly replicaId: number;
  readonly isolationLevel: number;
  readonly maxWaitTime: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly topics: readonly {
    topic: string;
    partitions: readonly { partition: number; fetchOffset: string; maxBytes: number }[];
  }[];
}

interface OffsetCommitRequest {
  readonly groupId: string;
  readonly groupGenerationId: number;
  readonly memberId: string;
  readonly topics: readonly { topic: string; partitions: readonly { partition: number; offset: string }[] }[];
}

export interface ClusterBroker {
  fetch(request: FetchRequest): Promise<{ responses: { partitions: FetchedPartition[] }[] }>;
  offsetCommit(request: OffsetCommitRequest): Promise<unknown>;
}

export interface KafkaCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<ClusterBroker>;
  findGroupCoordinator(options: { groupId: string }): Promise<ClusterBroker>;
  /** ListOffsets: `fromBeginning` asks for each partition's earliest retained offset. */
  fetchTopicsOffset(
    topics: readonly {
      topic: string;
      fromBeginning: boolean;
      partitions: readonly { partition: number }[];
    }[],
  ): Promise<{ partitions: { partition: number; offset: string }[] }[]>;
}

/** `isolationLevel` of a fetch that sees only committed transactional records. */
export const READ_COMMITTED = 1;

/** A cluster connection of its own (kafkajs' producer, consumer and admin each have one too). */
export function createCluster(kafka: Kafka): KafkaCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) =>
    s.description === "private:Kafka:createCluster"
  );
  const factory = symbol && (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== "function") {
    throw new Error("Cannot open a Kafka cluster connection: this kafkajs version has no cluster factory");
  }
  return factory({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED }) as KafkaCluster;
}
