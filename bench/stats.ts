/**
 * The numbers a benchmark scenario reports: wall time, per-call percentiles, failures, and the ratio
 * of one run to another. Pure, so the arithmetic is tested apart from the timing.
 */

/** One call's outcome: how long it took from its (scheduled) start, and whether it failed. */
export interface CallResult {
  readonly ms: number;
  readonly failed: boolean;
}

/** What one scenario measured. */
export interface Summary {
  readonly calls: number;
  readonly failed: number;
  /** From the scenario's start to its last call's end. */
  readonly wallMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The nearest-rank percentile (`p` in 0–100) of `values`; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? 0;
}

/** Summarizes a scenario's calls; latencies of failed calls count too (a caller waited for them). */
export function summarize(results: readonly CallResult[], wallMs: number): Summary {
  const latencies = results.map((result) => result.ms);
  return {
    calls: results.length,
    failed: results.filter((result) => result.failed).length,
    wallMs: round(wallMs),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(Math.max(0, ...latencies)),
  };
}

/** `candidate / baseline` for wall time and percentiles, to two decimals (Infinity over a zero baseline). */
export function ratios(candidate: Summary, baseline: Summary): { readonly wall: number; readonly p50: number; readonly p99: number } {
  const ratio = (a: number, b: number): number => (b === 0 ? (a === 0 ? 1 : Number.POSITIVE_INFINITY) : Math.round((a / b) * 100) / 100);
  return { wall: ratio(candidate.wallMs, baseline.wallMs), p50: ratio(candidate.p50Ms, baseline.p50Ms), p99: ratio(candidate.p99Ms, baseline.p99Ms) };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
