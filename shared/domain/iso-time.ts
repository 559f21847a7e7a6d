/** The times the messages and events carry: ISO 8601 with an offset, checked by hand (no schema library). */

/** ISO 8601 date and time with `Z` or a numeric offset, as EventBridge writes it; seconds and fractions optional. */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const TIME_PROBLEM = 'must be an ISO 8601 date and time with an offset, such as 2026-11-27T10:18:00Z';

/** Why `value` is not such a time (`is missing`, or the rule), or undefined when it is one. */
export function timeProblem(value: unknown): string | undefined {
  if (value === undefined) return 'is missing';
  const match = typeof value === 'string' ? ISO_TIME.exec(value) : null;
  if (match === null) return TIME_PROBLEM;
  // Date.parse rolls 2026-02-30 over into March: check the day exists in its month.
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? undefined : TIME_PROBLEM;
}
