/**
 * The microbatch formula (DESIGN §1, §5): each interval node i may take
 *   q_i = min(lag_i, ceil(r_i · t))  updates, cut into  b_i = ceil(q_i / b)  microbatches of ≤ b.
 */

/**
 * Products such as 0.07 · 100 land a hair above a whole number; ceil must not turn 7 into 8. One
 * double product is off by at most ~2.2e-16 relative, so 1e-12 absorbs that error without also
 * swallowing a real fraction (1e-9 rounded 40.6399 · 3599 = 146263.0001 down to 146263).
 */
const ROUNDING_SLACK = 1e-12;

/** ceil(r · t): the most updates a node of rate r absorbs in one interval of t seconds. */
export function sharePerInterval(rate: number, intervalSeconds: number): number {
  const exact = rate * intervalSeconds;
  const nearest = Math.round(exact);
  if (Math.abs(exact - nearest) <= ROUNDING_SLACK * Math.max(1, Math.abs(exact))) return nearest;
  return Math.ceil(exact);
}

/** q_i = min(lag_i, ceil(r_i · t)); never negative. */
export function updatesThisInterval(lag: number, rate: number, intervalSeconds: number): number {
  return Math.max(0, Math.min(lag, sharePerInterval(rate, intervalSeconds)));
}

/** b_i = ceil(q_i / b). */
export function microbatchCount(updates: number, batchSize: number): number {
  return Math.ceil(updates / batchSize);
}
