/**
 * Which notifications go out now, under each tenant's notification rate: every due
 * notification group is one notification while the tenant has a token for each; past
 * that (a storm), the due groups of each channel are folded into one digest, so a
 * thousand alerts breaching together cost the receiver one message, not a thousand.
 * A digest still needs a token; a channel without one waits for the next token, and
 * what becomes due meanwhile joins that digest. Nothing is dropped.
 *
 * @example
 * const plan = planDispatch(dueGroups, (tenant) => buckets.for(tenant), now);
 * for (const n of plan.send) flush(n.groups, n.digest);
 * for (const p of plan.postpone) reschedule(p.group, p.until);
 */
import type { TokenBucket } from "../limits/token-bucket.ts";

export interface DueGroup {
  readonly tenant: string;
  readonly channelId: string;
  readonly groupKey: string;
}

export interface PlannedNotification<G extends DueGroup> {
  readonly groups: readonly G[];
  readonly digest: boolean;
}

export interface DispatchPlan<G extends DueGroup> {
  readonly send: readonly PlannedNotification<G>[];
  readonly postpone: readonly { readonly group: G; readonly until: number }[];
}

export function planDispatch<G extends DueGroup>(
  due: readonly G[],
  bucketOf: (tenant: string) => TokenBucket,
  now: number,
): DispatchPlan<G> {
  const send: PlannedNotification<G>[] = [];
  const postpone: { group: G; until: number }[] = [];
  for (const [tenant, groups] of groupBy(due, (g) => g.tenant)) {
    const bucket = bucketOf(tenant);
    if (groups.length <= Math.floor(bucket.available(now))) {
      for (const group of groups) {
        bucket.take(1, now);
        send.push({ groups: [group], digest: false });
      }
      continue;
    }
    for (const [, ofChannel] of groupBy(groups, (g) => g.channelId)) {
      const verdict = bucket.take(1, now);
      if (verdict.ok) {
        send.push({ groups: ofChannel, digest: ofChannel.length > 1 });
        continue;
      }
      const until = now + Math.max(1, verdict.retryAfterMs);
      for (const group of ofChannel) postpone.push({ group, until });
    }
  }
  return { send, postpone };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
