/**
 * Cutting work into the batches AWS APIs accept, and checking the knobs that size them.
 */

/** Splits `items` into consecutive chunks of at most `size`, keeping their order. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** Throws a RangeError unless `value` is an integer ≥ 1; names `what` so a bad option is found fast. */
export function requirePositiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${what} must be an integer ≥ 1, got ${value}`);
  return value;
}
