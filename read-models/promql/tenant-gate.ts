/**
 * Per-tenant admission for queries: each tenant may run at most `maxConcurrent`
 * queries at once, so one tenant's dashboard storm takes a bounded share of the
 * engine and every other tenant's queries still start at once. Over its share a
 * tenant's query is refused with `LimitExceeded` (422) naming the limit, rather than
 * queued behind its own backlog.
 *
 * @example
 * const gate = new TenantGate({ maxConcurrent: 4 });
 * await gate.run("acme", () => rangeQuery(...));
 */
import { LimitExceeded } from "../../domain/errors.ts";

export class TenantGate {
  readonly #running = new Map<string, number>();

  constructor(readonly options: { readonly maxConcurrent: number }) {}

  running(tenant: string): number {
    return this.#running.get(tenant) ?? 0;
  }

  async run<T>(tenant: string, work: () => Promise<T>): Promise<T> {
    const now = this.running(tenant);
    if (now >= this.options.maxConcurrent) {
      throw new LimitExceeded(
        `Cannot run the query: ${now} queries of this tenant are running, the limit is ${this.options.maxConcurrent}; retry when one has finished`,
      );
    }
    this.#running.set(tenant, now + 1);
    try {
      return await work();
    } finally {
      const left = this.running(tenant) - 1;
      if (left === 0) this.#running.delete(tenant);
      else this.#running.set(tenant, left);
    }
  }
}
