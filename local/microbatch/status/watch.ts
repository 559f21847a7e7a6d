/** `--watch`: run now, then every `periodMs`, until the signal aborts (Ctrl-C). */
import { setTimeout as sleep } from 'node:timers/promises';

/** @returns how many times `work` ran. */
export async function repeatUntilAborted(work: () => Promise<void>, periodMs: number, signal: AbortSignal): Promise<number> {
  let runs = 0;
  while (!signal.aborted) {
    await work();
    runs += 1;
    try {
      await sleep(periodMs, undefined, { signal });
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }
  return runs;
}
