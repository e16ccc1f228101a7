/**
 * Runs async steps one after the other, in the order they were asked for.
 */

/**
 * A queue of async steps: each starts once the one asked for before it has ended (whether it succeeded or
 * not). With none under way a step starts at once, so what it does before its first `await` is done when
 * {@link InOrder.run} returns.
 */
export class InOrder {
  #tail: Promise<unknown> = Promise.resolve();
  #underWay = 0;

  /** Runs `step` after the steps asked for before it; its promise is the step's own. */
  run<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#underWay === 0 ? step() : this.#tail.then(step, step);
    this.#underWay += 1;
    this.#tail = run
      .catch(() => {})
      .finally(() => {
        this.#underWay -= 1;
      });
    return run;
  }
}
