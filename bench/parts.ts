/**
 * The benchmark's parts: one list, from which `--only` is parsed, the run order is taken and the
 * results file is keyed. A part measures and returns its figures; it prints nothing but progress.
 */
import type { Emulators } from '#local/emulators.ts';
import { measureApply } from './parts/apply.ts';
import { measureChecker } from './parts/checker.ts';
import { measureColdStart } from './parts/cold-start.ts';
import { measureConvergence } from './parts/convergence.ts';
import { measureEndToEnd } from './parts/end-to-end.ts';
import { measurePlanner } from './parts/planner.ts';
import { measureRetry } from './parts/retry.ts';

export interface PartContext {
  /** A line of progress for a person (stderr). */
  readonly progress: (line: string) => void;
  /** DynamoDB Local and the SQS emulator, started on first use and shared by the parts of one run. */
  readonly emulators: () => Promise<Emulators>;
}

interface PartDefinition {
  readonly describe: string;
  /** Whether `npm run bench` without `--only` runs it. */
  readonly byDefault: boolean;
  run(context: PartContext): Promise<unknown>;
}

/** In run order: the CPU-bound parts first, then the parts on the emulators. */
export const PARTS = {
  coldStart: {
    describe: 'each Lambda bundle against a bundle of the same SDK clients only: size, and median import time in fresh processes',
    byDefault: true,
    run: ({ progress }) => measureColdStart(progress),
  },
  planner: {
    describe: 'planInterval over 100,000 nodes through the real adapters: answered at once (CPU), then at 10 ms a call (wall)',
    byDefault: true,
    run: ({ progress }) => measurePlanner(progress),
  },
  checker: {
    describe: 'checkConvergence over 10,000 and 100,000 nodes, 60 open intervals, 10 ms a call',
    byDefault: true,
    run: ({ progress }) => measureChecker(progress),
  },
  convergence: {
    describe: 'intervals to converge over the bound max_i ceil(lag_i / ceil(r_i·t)), generated fleets, the real use cases',
    byDefault: true,
    run: ({ progress }) => measureConvergence(progress),
  },
  apply: {
    describe: 'write units per applied update through the real applier and adapters on DynamoDB Local, four ways',
    byDefault: true,
    run: async ({ progress, emulators }) => measureApply(progress, await emulators()),
  },
  endToEnd: {
    describe: 'the local pipeline at b = 100 against the write floor and against b = 1, and what each costs at AWS prices',
    byDefault: true,
    run: async ({ progress, emulators }) => measureEndToEnd(progress, await emulators()),
  },
  retry: {
    describe: "the SDK's standard against its adaptive retry mode after throttles (also: npm run bench:retry)",
    byDefault: false,
    run: async ({ progress, emulators }) => measureRetry(progress, await emulators()),
  },
} as const satisfies Record<string, PartDefinition>;

export type PartName = keyof typeof PARTS;

export const PART_NAMES = Object.keys(PARTS) as PartName[];
