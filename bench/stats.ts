/**
 * Statistics and helpers of the benchmark: median and p99 (nearest rank), bounded loops.
 */

export interface Summary {
  readonly median: number;
  readonly p99: number;
  readonly samples: number;
}

/** The nearest-rank percentile `p` (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function summarize(values: readonly number[]): Summary {
  return { median: percentile(values, 50), p99: percentile(values, 99), samples: values.length };
}

/**
 * For rates, the "p99" is the rate of the slowest 1 % of rounds: the 1st percentile of the rates, so that
 * it reads like a worst case, as p99 does for latencies.
 */
export function summarizeRates(values: readonly number[]): Summary {
  return { median: percentile(values, 50), p99: percentile(values, 1), samples: values.length };
}

/** Runs `total` tasks, at most `concurrency` at a time. */
export async function inParallel(
  total: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Full garbage collections, when the process runs with --expose-gc. */
export async function collect(): Promise<boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return true;
}
