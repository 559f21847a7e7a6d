/**
 * Interval index k = floor(scheduledTimeEpochSeconds / t), taken from the scheduled event's own
 * time (scheduled-event.ts) so that a retried or duplicated delivery of the same tick maps to the same k.
 */

export function intervalIndex(time: Date, intervalSeconds: number): number {
  return Math.floor(time.getTime() / 1000 / intervalSeconds);
}

/** The start of interval k as a Date. */
export function intervalStart(interval: number, intervalSeconds: number): Date {
  return new Date(interval * intervalSeconds * 1000);
}
