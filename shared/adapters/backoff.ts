/**
 * Retry pacing shared by the adapters that retry partial failures themselves (the SDK's own
 * retries cover whole calls, not the entries a successful call reports as unprocessed).
 */
import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms` milliseconds; adapters take it by injection so tests need not wait. */
export type Sleep = (ms: number) => Promise<void>;

/** Real timers. */
export const realSleep: Sleep = async (ms) => {
  await delay(ms);
};

/**
 * "Full jitter" exponential backoff: a random wait in [0, min(cap, base·2^(attempt−1))). Random
 * spread keeps many containers that failed together from retrying together.
 * @param attempt the attempt that just failed, from 1.
 */
export function fullJitterDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
