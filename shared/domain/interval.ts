/**
 * Interval index k = floor(scheduledTimeEpochSeconds / t), taken from the scheduled event's own
 * time so that a retried or duplicated delivery of the same tick maps to the same k.
 */
import { classicScheduledEventSchema, type ScheduledEvent } from './schemas.ts';

/** The scheduled time carried by either event shape (classic `time`, or Scheduler's `scheduledTime`). */
export function scheduledTimeOf(event: ScheduledEvent): Date {
  // Decide the shape the way the union did (classic first): a Scheduler payload may carry any
  // extra key, `detail-type` included, and must still be timed by its `scheduledTime`.
  const classic = classicScheduledEventSchema.safeParse(event);
  return new Date(classic.success ? classic.data.time : (event.scheduledTime as string));
}

export function intervalIndex(time: Date, intervalSeconds: number): number {
  return Math.floor(time.getTime() / 1000 / intervalSeconds);
}

/** The start of interval k as a Date. */
export function intervalStart(interval: number, intervalSeconds: number): Date {
  return new Date(interval * intervalSeconds * 1000);
}
