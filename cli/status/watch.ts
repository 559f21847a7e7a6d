/** `--watch`: run now, then every `periodMs`, until the signal aborts (Ctrl-C). */
import { setTimeout as sleep } from 'node:timers/promises';

/** @returns how many times `work` ran. */
export async function repeatUntilAborted(work: () => Promise<void>, periodMs: number, signal: AbortSignal): Promise<number> {
  let runs = 0;
  while (!signal.aborted) {
    await work();
    runs += 1;
    // An abort rejects the sleep with an AbortError: the loop's condition then ends it.
    await sleep(periodMs, undefined, { signal }).catch((error: unknown) => {
      if (!(error instanceof Error && error.name === 'AbortError')) throw error;
    });
  }
  return runs;
}
