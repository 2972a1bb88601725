/**
 * A sleep that can be cut short: background loops (the delivery worker, the polling
 * evaluator) wait for their next round with it, and `wake` ends the wait at once when
 * there is work now or the loop is stopping.
 *
 * @example
 * const sleep = new WakeableSleep();
 * await sleep.for(1_000); // elsewhere: sleep.wake()
 */
export class WakeableSleep {
  #wake: () => void = () => {};

  for(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  wake(): void {
    this.#wake();
  }
}
