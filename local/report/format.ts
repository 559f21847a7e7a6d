/** How the report writes numbers: counts, rates, durations, plurals. */

export { count, plural } from '../counts.ts';

const COMPACT = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/** Rates keep three significant digits: 0.372, 8.5, 12.5, 150. */
export function rate(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return Number(value.toPrecision(3)).toString();
}

/** 1.5K, 2M: tick labels that stay short. */
export function compact(value: number): string {
  return Number.isFinite(value) ? COMPACT.format(value) : '—';
}

/** 850 ms, 8.4 s, 2 min 5 s. */
export function duration(milliseconds: number): string {
  if (!Number.isFinite(milliseconds)) return '—';
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  if (milliseconds < 60_000) return `${(milliseconds / 1000).toFixed(1)} s`;
  const seconds = Math.round(milliseconds / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/**
 * The largest of `values`, and at least `floor`. A loop rather than `Math.max(...values)`, whose
 * spread runs out of stack on a long run with many nodes.
 */
export function largest(values: readonly number[], floor: number): number {
  let result = floor;
  for (const value of values) if (value > result) result = value;
  return result;
}

