/**
 * Counts the turns of the event loop (one per check phase, by a `setImmediate` that re-arms itself), so a
 * test can tell whether two things happened in the same turn or in different ones.
 */
export function countTurns(): { now(): number; stop(): void } {
  let turn = 0;
  let counting = true;
  const count = () => {
    turn += 1;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  return {
    now: () => turn,
    stop: () => {
      counting = false;
    },
  };
}
