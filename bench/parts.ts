/**
 * The benchmark's parts: one list, from which `--only` is parsed, the run order is taken and the
 * results file is keyed. A part measures and returns its figures; it prints nothing but progress.
 * Each part's module is loaded only when the part runs: `--only planner` needs neither the
 * emulators' code nor the other parts'.
 */
import type { Emulators } from '#local/emulators.ts';

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
    run: async ({ progress }) => (await import('./parts/cold-start.ts')).measureColdStart(progress),
  },
  planner: {
    describe: 'startPlan and planShard at 1,000,000 and 100,000 nodes, steady and catching up, real SDK clients on a fake endpoint: shard CPU answered at once, wall at 10 ms a call',
    byDefault: true,
    run: async ({ progress }) => (await import('./parts/planner.ts')).measurePlanner(progress),
  },
  checker: {
    describe: 'startCheck and checkShard at 1,000,000 and 100,000 nodes, 60 open intervals, real SDK clients on a fake endpoint: the merging shard’s CPU and wall at 10 ms a call',
    byDefault: true,
    run: async ({ progress }) => (await import('./parts/checker.ts')).measureChecker(progress),
  },
  convergence: {
    describe: 'intervals to converge over the bound max_i ceil(lag_i / ceil(r_i·t)), generated fleets, the real use cases',
    byDefault: true,
    run: async ({ progress }) => (await import('./parts/convergence.ts')).measureConvergence(progress),
  },
  apply: {
    describe: 'write units per applied update through the real applier and adapters on DynamoDB Local, four ways',
    byDefault: true,
    run: async ({ progress, emulators }) => (await import('./parts/apply.ts')).measureApply(progress, await emulators()),
  },
  endToEnd: {
    describe: 'the local pipeline at b = 100 against the write floor and against b = 1, and what each costs at AWS prices',
    byDefault: true,
    run: async ({ progress, emulators }) => (await import('./parts/end-to-end.ts')).measureEndToEnd(progress, await emulators()),
  },
  retry: {
    describe: "the SDK's standard against its adaptive retry mode after throttles (also: npm run bench:retry)",
    byDefault: false,
    run: async ({ progress, emulators }) => (await import('./parts/retry.ts')).measureRetry(progress, await emulators()),
  },
} as const satisfies Record<string, PartDefinition>;

export type PartName = keyof typeof PARTS;

export const PART_NAMES = Object.keys(PARTS) as PartName[];
