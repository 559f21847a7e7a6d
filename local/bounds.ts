/**
 * The bounds a local run is judged by: the theoretical minimum of a node under ingest that stops,
 * the recovery bound of a node under ingest that never stops, and the slack a run gets beyond them.
 * Pure arithmetic on rates, heads and shares, below both the scenario (which sizes a run from
 * them) and the summary (which judges a run by them).
 */
import { DEFAULT_SETTINGS, validateRate } from '#shared/domain/config.ts';
import { sharePerInterval } from '#shared/domain/formula.ts';

/**
 * The earliest 1-based interval by which a node of `rate` could hold `heads.at(-1)`, taking at most
 * ceil(r·t) per interval, where `heads[j]` is the head after interval j+1's ingest (planning sees it).
 */
export function theoreticalMinInterval(heads: readonly number[], rate: number, intervalSeconds: number): number {
  if (heads.length === 0) return 0;
  // A rate must be positive (validateRate): a node of rate 0 could never converge.
  const share = sharePerInterval(validateRate(rate), intervalSeconds);
  const finalHead = heads.at(-1) ?? 0;
  let applied = 0;
  for (const [index, head] of heads.entries()) {
    applied = Math.min(head, applied + share);
    if (applied >= finalHead) return index + 1;
  }
  // Ingest stopped at the last head: keep applying a share per interval.
  return heads.length + Math.ceil((finalHead - applied) / share);
}

/** Intervals beyond the theoretical minimum before a run that has not converged counts as failed. */
export const CONVERGENCE_SLACK_INTERVALS = 2;

/**
 * A node's recovery bound under ingest that never stops (DESIGN §5 step 3): from interval
 * F + staleAfterIntervals + ceil(deficit / (share − ingest)) + 1 on it is consistent at every
 * interval, F being the first interval after the faults. Infinite when its share does not exceed
 * the ingest: it cannot keep up.
 */
export function nodeRecoveryBound(faultsStop: number, deficit: number, share: number, ingestPerInterval: number): number {
  if (share <= ingestPerInterval) return Number.POSITIVE_INFINITY;
  return faultsStop + DEFAULT_SETTINGS.staleAfterIntervals + Math.ceil(deficit / (share - ingestPerInterval)) + 1;
}
