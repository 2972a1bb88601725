/**
 * The checks of an event-store append on Postgres that need no database: what a call
 * may ask for (`validate`), whether the stream is where the caller expected it, and
 * the answer to a retried append (the same event ids, found already appended).
 */
import { Conflict, ValidationError } from "../../domain/errors.ts";
import type { AppendResult, ExpectedRevision, StreamAppend } from "../../domain/ports/event-store.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function validate(appends: readonly StreamAppend[]): void {
  const streams = new Set<string>();
  for (const { streamId, events } of appends) {
    if (events.length === 0) {
      throw new ValidationError(`Cannot append to stream ${streamId}: no events given`);
    }
    const bad = events.find((e) => !UUID.test(e.id));
    if (bad) {
      throw new ValidationError(`Cannot append to stream ${streamId}: event id "${bad.id}" is not a UUID`);
    }
    if (streams.has(streamId)) {
      throw new ValidationError(`Cannot append to stream ${streamId}: it appears twice in one appendMany`);
    }
    streams.add(streamId);
  }
}

export interface SeenRow {
  stream_id: string;
  event_id: string;
  revision: number;
  position: string;
}

/** The same events appended again: answer as the first append did, or refuse a partial overlap. */
export function retried(streamId: string, ids: readonly string[], seen: readonly SeenRow[]): AppendResult {
  const inOrder = seen.length === ids.length &&
    seen.every((row, i) => row.event_id === ids[i].toLowerCase() && row.revision === seen[0].revision + i);
  if (!inOrder) {
    throw new Conflict(
      `Cannot append to stream ${streamId}: ${seen.length} of the ${ids.length} events were appended before, not as one append`,
    );
  }
  const last = seen[seen.length - 1];
  return { nextExpectedRevision: last.revision, position: BigInt(last.position) };
}

export function checkExpected(
  streamId: string,
  current: number | undefined,
  expected: ExpectedRevision,
): void {
  const ok = expected === "any" ||
    (expected === "no_stream" && current === undefined) ||
    (expected === "stream_exists" && current !== undefined) ||
    (typeof expected === "number" && current === expected);
  if (!ok) {
    const actual = current === undefined ? "does not exist" : `is at revision ${current}`;
    throw new Conflict(
      `Cannot append to stream ${streamId}: expected ${describe(expected)}, but the stream ${actual}`,
    );
  }
}

function describe(expected: ExpectedRevision): string {
  return typeof expected === "number" ? `revision ${expected}` : expected.replace("_", " ");
}
