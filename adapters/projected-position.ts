/**
 * How far a read-model projector has got, and the requests waiting until their own
 * change is in the tables (read your writes): kept by the projector itself, or, where it
 * runs on another thread, from the positions it reports.
 *
 * @example
 * const reached = new ProjectedPosition();
 * const visible = reached.projected(42n); // resolves true once reached.advance(42n)
 */
import type { Position } from "../domain/ports/event-store.ts";

export class ProjectedPosition {
  readonly #waiters = new Set<{ position: Position; resolve: () => void }>();
  #position: Position = -1n;

  get position(): Position {
    return this.#position;
  }

  /** Resolves true once every event up to `position` is applied, false after `timeoutMs` or `release`. */
  projected(position: Position, timeoutMs = 5_000): Promise<boolean> {
    if (this.#position >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(this.#position >= position);
        },
      };
      const timer = setTimeout(waiter.resolve, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** True when `position` is past the one held. */
  advance(position: Position): boolean {
    if (position <= this.#position) return false;
    this.#position = position;
    for (const waiter of this.#waiters) if (waiter.position <= position) waiter.resolve();
    return true;
  }

  /** Answers every waiting request now. */
  release(): void {
    for (const waiter of this.#waiters) waiter.resolve();
  }
}
