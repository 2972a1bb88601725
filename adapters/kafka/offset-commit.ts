/**
 * Committing a consumer group's offset, from a member or from outside the group.
 *
 * A member commits with its generation. When the group is rebalancing, or has moved on
 * to a newer generation, Kafka refuses that commit; the member then keeps the offset and
 * seeks to it when it rejoins (see `group-consumer.ts`), and a partition that moved to
 * another member is replayed there from the last accepted commit, which the projector's
 * recorded batch plans make exact. So a refused commit is not an error for the caller.
 *
 * Without a member in this process (an operator resetting a group, a replay tool, the
 * contract suite), the commit goes to the group coordinator with generation -1, which
 * Kafka accepts while the group has no active members.
 */
import type { Consumer } from "kafkajs";
import type { KafkaCluster } from "./kafka-cluster.ts";

export interface OffsetCommit {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly nextOffset: number;
}

const FENCED = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER_ID",
  "FENCED_INSTANCE_ID",
]);

/** Whether Kafka refused a member's commit because the group moved on without it. */
export function isFencedCommit(error: unknown): boolean {
  return FENCED.has((error as { type?: string }).type ?? "");
}

export async function commitAsMember(consumer: Consumer, commit: OffsetCommit): Promise<boolean> {
  try {
    await consumer.commitOffsets([{
      topic: commit.topic,
      partition: commit.partition,
      offset: String(commit.nextOffset),
    }]);
    return true;
  } catch (error) {
    if (isFencedCommit(error)) return false;
    throw error;
  }
}

export async function commitFromOutside(cluster: KafkaCluster, commit: OffsetCommit): Promise<void> {
  const coordinator = await cluster.findGroupCoordinator({ groupId: commit.group });
  await coordinator.offsetCommit({
    groupId: commit.group,
    groupGenerationId: -1,
    memberId: "",
    topics: [{
      topic: commit.topic,
      partitions: [{ partition: commit.partition, offset: String(commit.nextOffset) }],
    }],
  });
}
