/**
 * Consumers waiting for records on a topic. An append through this connection wakes them
 * at once, and so does one through another connection of this process that names the
 * same `peers` channel (a `BroadcastChannel`: the log opened again in a Worker); otherwise
 * they wake after the poll interval and look again, since a process appending to the same
 * file has no way to wake them.
 *
 * @example
 * const waiters = new AppendWaiters(200, "lookout-log:/data/log.sqlite");
 * await waiters.wait("metrics.samples", signal); // then read again
 * waiters.wake("metrics.samples"); // after a commit that appended to the topic
 * waiters.close();
 */
export class AppendWaiters {
  readonly #pollIntervalMs: number;
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #peers: BroadcastChannel | undefined;

  constructor(pollIntervalMs: number, peers?: string) {
    this.#pollIntervalMs = pollIntervalMs;
    if (peers !== undefined) {
      this.#peers = new BroadcastChannel(peers);
      this.#peers.onmessage = (event: MessageEvent<string>) => this.#wakeHere(event.data);
    }
  }

  /** Resolves on the next wake for `topic`, after the poll interval, or when `signal` aborts. */
  wait(topic: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(topic);
      if (waiters === undefined) this.#waiters.set(topic, waiters = new Set());
      const wake = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", wake);
        waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.#pollIntervalMs);
      signal?.addEventListener("abort", wake, { once: true });
      waiters.add(wake);
    });
  }

  /** Wakes the consumers of `topic` here and on the connections of the `peers` channel. */
  wake(topic: string): void {
    this.#wakeHere(topic);
    this.#peers?.postMessage(topic);
  }

  #wakeHere(topic: string): void {
    for (const wake of [...this.#waiters.get(topic) ?? []]) wake();
  }

  /** Wakes every waiting consumer, so on close each sees the log closed at once. */
  wakeAll(): void {
    for (const waiters of this.#waiters.values()) for (const wake of [...waiters]) wake();
  }

  /** Leaves the `peers` channel. */
  close(): void {
    this.#peers?.close();
  }
}
