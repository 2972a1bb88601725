/**
 * Which fetched records belong to aborted transactions. A read-committed fetch returns
 * every record up to the last stable offset, aborted ones included, with the list of
 * transactions aborted in that range (producer and first offset); the client drops
 * them. kafkajs does this inside its consumer only, and the log's `read` fetches
 * directly (see `kafka-cluster.ts`), so it filters here: a record of a producer whose
 * aborted transaction has begun, up to that producer's abort marker, is dropped.
 */
import type { FetchedMessage, FetchedPartition } from "./kafka-cluster.ts";

/** The fetched records that are not part of an aborted transaction (control records kept). */
export function withoutAborted(fetched: FetchedPartition): readonly FetchedMessage[] {
  const aborted = [...(fetched.abortedTransactions ?? [])]
    .sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset));
  if (aborted.length === 0) return fetched.messages;
  const open = new Set<string>();
  return fetched.messages.filter((message) => {
    while (aborted.length > 0 && Number(aborted[0].firstOffset) <= Number(message.offset)) {
      open.add(aborted.shift()!.producerId);
    }
    const producer = message.batchContext?.producerId ?? "";
    if (message.isControlRecord) {
      if (isAbortMarker(message)) open.delete(producer);
      return true;
    }
    return !(open.has(producer) && message.batchContext?.inTransaction);
  });
}

/** A control record's key is a version (int16) and a type (int16): 0 aborts, 1 commits. */
function isAbortMarker(message: FetchedMessage): boolean {
  const key = message.key;
  return key !== null && key.length >= 4 && key[2] === 0 && key[3] === 0;
}
