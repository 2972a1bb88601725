/**
 * Retries a Kafka request while the broker says "not now": a group coordinator still
 * loading (`NOT_COORDINATOR`, `COORDINATOR_LOAD_IN_PROGRESS` on a fresh broker or right
 * after a restart), a leader election, a lost connection. kafkajs' admin client does not
 * retry these for every call; anything else fails at once.
 *
 * @example
 * const offsets = await retriable(() => admin.fetchOffsets({ groupId, topics: [topic] }));
 */
export async function retriable<T>(request: () => Promise<T>, deadlineMs = 30_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0;; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (!isRetriable(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1_000)));
    }
  }
}

/** kafkajs marks these retriable, but for this log they are answers: the topic is missing. */
const ANSWERS = new Set(["UNKNOWN_TOPIC_OR_PARTITION"]);

function isRetriable(error: unknown): boolean {
  const e = error as { retriable?: boolean; name?: string; type?: string; originalError?: unknown };
  if (ANSWERS.has(e?.type ?? "")) return false;
  if (e?.retriable === true) return true;
  if (e?.name === "KafkaJSNumberOfRetriesExceeded" || e?.name === "KafkaJSConnectionError") return true;
  return e?.originalError !== undefined && isRetriable(e.originalError);
}
