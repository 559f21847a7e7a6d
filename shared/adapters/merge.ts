/**
 * Merging async sources (the pages of parallel Scan segments) into one stream, in the order the
 * pages arrive. Each source has at most one page in flight beyond what the consumer has taken, so a
 * slow consumer holds the scan back instead of buffering the whole table.
 */

type Settled<T> = { readonly index: number; readonly result: IteratorResult<T> };

/**
 * Yields every value of every source as it arrives. A source that throws ends the merge with its
 * error; the other sources are closed (their generators' `finally` blocks run).
 */
export async function* mergeAsync<T>(sources: readonly AsyncIterable<T>[]): AsyncGenerator<T, void, undefined> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<Settled<T>>>();
  const arm = (index: number, iterator: AsyncIterator<T>): void => {
    const next = iterator.next().then((result) => ({ index, result }));
    // Rejections surface through Promise.race below; never as unhandled ones after we stopped.
    next.catch(() => undefined);
    pending.set(index, next);
  };
  iterators.forEach((iterator, index) => {
    arm(index, iterator);
  });
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done === true) {
        pending.delete(index);
        continue;
      }
      const iterator = iterators[index];
      if (iterator !== undefined) arm(index, iterator);
      yield result.value;
    }
  } finally {
    const open = iterators.filter((_, index) => pending.has(index));
    await Promise.allSettled(
      open.map(async (iterator) => {
        await iterator.return?.();
      }),
    );
  }
}
