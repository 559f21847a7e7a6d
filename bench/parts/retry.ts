/**
 * The SDK's standard against its adaptive retry mode after throttles (bench/retry-mode.ts, which
 * also runs alone with its own options: `npm run bench:retry`), with the default scenarios, on the
 * emulators the other parts share. Kept in `npm run bench` as a part of its own: it is the
 * measurement behind the clients' retry mode (shared/clients.ts).
 */
import type { Emulators } from '#local/emulators.ts';
import { measure, parseArguments, type Measurement } from '../retry-mode.ts';

export interface RetryResult {
  /** Adaptive wall time over standard, the smallest and the largest over the scenarios. */
  readonly adaptiveOverStandardWall: { readonly min: number; readonly max: number };
  /** Calls that failed in standard mode, over all scenarios. */
  readonly standardFailures: number;
  readonly measurements: readonly Measurement[];
}

export async function measureRetry(progress: (line: string) => void, emulators: Emulators): Promise<RetryResult> {
  const measurements = await measure(parseArguments([]), (line) => {
    progress(`retry: ${line}`);
  }, emulators);
  const walls = measurements.map((measurement) => measurement.ratio.wall);
  return {
    adaptiveOverStandardWall: { min: Math.min(...walls), max: Math.max(...walls) },
    standardFailures: measurements.reduce((sum, measurement) => sum + measurement.standard.failed, 0),
    measurements,
  };
}
