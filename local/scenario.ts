/**
 * What a local run runs: the scenarios (`--scenario default|seed`) and their defaults, the node
 * rates, and the synthetic producer's workload — how many updates each interval ingests and which.
 * Seeded, so the same `--seed` gives the same workload and rates.
 */
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { MAX_UPDATES_PER_REQUEST } from '#shared/domain/schemas.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import { CONVERGENCE_SLACK_INTERVALS, theoreticalMinInterval } from './bounds.ts';
import type { FaultSettings } from './faults.ts';
import { below, streamOf, type Random } from './random.ts';

/** `--scenario`: the default run, or the original write-up's example. */
export const SCENARIOS = ['default', 'seed'] as const;

export type Scenario = (typeof SCENARIOS)[number];

/** A run's scenario and settings: the workload, the nodes, the faults. */
export interface ScenarioOptions {
  readonly scenario: Scenario;
  readonly nodes: number;
  /** Intervals to run at most; undefined: enough to converge ({@link defaultIntervals}). */
  readonly intervals?: number;
  readonly intervalSeconds: number;
  readonly batchSize: number;
  /** Updates per second the synthetic producer ingests while it runs. */
  readonly ingestRate: number;
  /** Ingest stops after this many intervals, so that the nodes can converge; null: it never stops. */
  readonly quietAfter: number | null;
  /** Faults strike only in intervals ≤ this (1-based); undefined: in every interval. */
  readonly faultsUntil?: number;
  /** Distinct keys the updates touch. */
  readonly keys: number;
  readonly seed: number;
  readonly faults: FaultSettings;
  /** Node id → rate; default: {@link nodeRates}. */
  readonly rates?: Readonly<Record<string, number>>;
  /** Nodes one planner or checker shard takes (the deployment's nodesPerShard); default {@link LOCAL_NODES_PER_SHARD}. */
  readonly nodesPerShard?: number;
  /** A fixed shard count; 0 or undefined derives it from the fleet. */
  readonly shards?: number;
}

/**
 * Nodes per shard locally: a tenth of the cloud's default (DynamoDB Local answers slower than
 * DynamoDB, and a fleet of a few thousand nodes already runs through several shards, as a large
 * one does in the cloud).
 */
export const LOCAL_NODES_PER_SHARD = 5_000;

/** The defaults of a scenario; the seed scenario is the original write-up's example (b = 100, t = 1000 s). */
export function scenarioDefaults(scenario: Scenario): Omit<ScenarioOptions, 'faults' | 'scenario'> {
  return scenario === 'seed'
    ? { nodes: 10, intervalSeconds: 1000, batchSize: 100, ingestRate: 1, quietAfter: 1, keys: 200, seed: 1 }
    : { nodes: 5, intervalSeconds: 60, batchSize: 100, ingestRate: 5, quietAfter: 3, keys: 200, seed: 1 };
}

/**
 * Node rates. Default scenario: heterogeneous, each between 1.4 and 3 times the ingest rate, and
 * the last node slow (half the ingest rate: it falls behind while ingest runs and catches up after).
 * Seed scenario: random in [0, 1) to two decimals (at least 0.01), as in the write-up.
 */
export function nodeRates(options: Pick<ScenarioOptions, 'scenario' | 'nodes' | 'ingestRate' | 'seed'>): Record<string, number> {
  const random = streamOf(options.seed, 'rates');
  const width = String(options.nodes).length;
  const id = (index: number): string => `node-${String(index + 1).padStart(width, '0')}`;
  if (options.scenario === 'seed') {
    return Object.fromEntries(Array.from({ length: options.nodes }, (_, index) => [id(index), Math.max(0.01, Math.floor(random() * 100) / 100)]));
  }
  const base = options.ingestRate > 0 ? options.ingestRate : 1;
  return Object.fromEntries(
    Array.from({ length: options.nodes }, (_, index) => {
      const slow = options.nodes > 1 && index === options.nodes - 1;
      const factor = slow ? 0.5 : 1.4 + 1.6 * random();
      return [id(index), Math.max(0.1, Math.round(base * factor * 10) / 10)];
    }),
  );
}

/** Updates the producer ingests in interval j (1-based). */
export function ingestIn(j: number, options: Pick<ScenarioOptions, 'ingestRate' | 'intervalSeconds' | 'quietAfter'>): number {
  return options.quietAfter === null || j <= options.quietAfter ? Math.round(options.ingestRate * options.intervalSeconds) : 0;
}

/**
 * Ingest that stops: the theoretical minimum for the planned workload, plus staleAfterIntervals and
 * a little slack. Ingest that never stops: the faults' window, staleAfterIntervals and room to watch
 * a few intervals past the recovery bound.
 */
export function defaultIntervals(options: Omit<ScenarioOptions, 'intervals'>, rates: Readonly<Record<string, number>>): number {
  if (options.quietAfter === null) return (options.faultsUntil ?? 0) + DEFAULT_SETTINGS.staleAfterIntervals + 8;
  const heads: number[] = [];
  for (let j = 1, head = 0; j <= Math.max(1, options.quietAfter); j += 1) heads.push((head += ingestIn(j, options)));
  const minimum = Math.max(1, ...Object.values(rates).map((rate) => theoreticalMinInterval(heads, rate, options.intervalSeconds)));
  return minimum + DEFAULT_SETTINGS.staleAfterIntervals + CONVERGENCE_SLACK_INTERVALS;
}

/**
 * The synthetic producer's workload: interval j's updates, in requests of at most
 * MAX_UPDATES_PER_REQUEST, numbered across the run.
 */
export class SyntheticWorkload {
  private readonly random: Random;
  /** Updates produced so far: each put's value carries its number. */
  private serial = 0;

  constructor(private readonly options: Pick<ScenarioOptions, 'ingestRate' | 'intervalSeconds' | 'quietAfter' | 'keys' | 'seed'>) {
    this.random = streamOf(options.seed, 'workload');
  }

  /** Interval j's requests (1-based j), each at most MAX_UPDATES_PER_REQUEST updates. */
  requests(j: number): NewUpdate[][] {
    const count = ingestIn(j, this.options);
    const requests: NewUpdate[][] = [];
    for (let offset = 0; offset < count; offset += MAX_UPDATES_PER_REQUEST) {
      const updates: NewUpdate[] = [];
      for (let index = 0; index < Math.min(MAX_UPDATES_PER_REQUEST, count - offset); index += 1) {
        this.serial += 1;
        updates.push(syntheticUpdate(this.serial, j, this.options.keys, this.random));
      }
      requests.push(updates);
    }
    return requests;
  }
}

/** Puts and deletes over `keys` keys; a value carries its serial number so every put differs. */
function syntheticUpdate(serial: number, interval: number, keys: number, random: Random): NewUpdate {
  const key = `key-${below(random, keys) + 1}`;
  if (random() < 0.1) return { key, op: 'delete' };
  return { key, op: 'put', value: { serial, interval, amount: Math.round(random() * 100_000) / 100, tags: random() < 0.5 ? ['a'] : ['b', 'c'] } };
}
