/**
 * The first n items of a stream under an order, in bounded memory: what a verdict names of a fleet
 * of any size.
 */

/**
 * Keeps the `n` smallest items offered under `compare`, sorted. A sorted array, not a heap: with n ≤
 * 100 an insertion shifts at most 100 slots, and once full most items are turned away by a single
 * comparison with the last one kept (offering 100,000 items in random order inserts about
 * n · ln(100,000 / n) ≈ 90 of them for n = 10).
 */
export class TopN<T> {
  private readonly items: T[] = [];

  constructor(
    private readonly n: number,
    private readonly compare: (a: T, b: T) => number,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be an integer ≥ 1, got ${n}`);
  }

  offer(item: T): void {
    const last = this.items[this.n - 1];
    if (last !== undefined && this.compare(item, last) >= 0) return;
    // After every item that orders before it or equal: ties keep the order they were offered in.
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.items[mid] as T, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, item);
    if (this.items.length > this.n) this.items.pop();
  }

  /** The items kept, smallest first. */
  values(): T[] {
    return [...this.items];
  }
}

/** Node ids in DynamoDB's order for strings (UTF-8 bytes; node ids are printable ASCII, so code units). */
export function byNodeId(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
