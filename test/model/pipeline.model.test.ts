/**
 * A model test of the whole pipeline: the real use cases (ingest, planner, applier, checker) run
 * against the in-memory ports, interval after interval, while fast-check picks the nodes, the
 * ingest and the faults. The test plays Lambda and SQS itself: the schedule fires the planner and
 * the checker, FIFO groups deliver each node's messages, failed records come back until
 * `MAX_RECEIVE_COUNT` receives and are then dead-lettered.
 *
 * Two shapes of run: ingest that stops (every node then converges, within a bound), and ingest that
 * never stops while faults strike only before interval F (every node fast enough for the ingest is
 * then consistent at every interval from a bound on — DESIGN §5 step 3's self-healing rule).
 *
 * One interval k of the model: ingest → the checker of k (it judges the plans before k; it fires
 * at the same time as the planner, so it runs before or after it) → planner run(s) for k →
 * deliveries until no deliverable message is left.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstChainBreak, GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { CursorRaceError, ValidationError } from '#shared/domain/errors.ts';
import { sharePerInterval } from '#shared/domain/formula.ts';
import { intervalIndex, intervalStart } from '#shared/domain/interval.ts';
import { replay } from '#shared/domain/ops.ts';
import { parseMicrobatch } from '#shared/domain/schemas.ts';
import type { ConvergenceRecord, IntervalVerdict, JsonValue, LogEntry, NewUpdate, NodeState, ReplicaItem } from '#shared/domain/types.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import { applyMicrobatch, type ApplyMicrobatchDeps } from '#shared/usecases/apply-microbatch.ts';
import { checkConvergence, type CheckConvergenceDeps } from '#shared/usecases/check-convergence.ts';
import { planInterval, type PlanIntervalDeps } from '#shared/usecases/plan-interval.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import {
  createInMemoryPorts,
  FaultPlan,
  InjectedCrash,
  InMemoryLog,
  withLatency,
  type CrashRule,
  type QueuedMessage,
} from '#test/support/in-memory.ts';
import { seededRandom } from '../../local/random.ts';

const STREAM = 'main';
const KEYS = ['a', 'b', 'c', 'd', 'e'] as const;
/** The redrive policy: the receive after which SQS moves a failing message to the DLQ. */
const MAX_RECEIVE_COUNT = 3;
const { maxInFlightIntervals, staleAfterIntervals, retentionDays } = DEFAULT_SETTINGS;
/** Wider than the default look-back so the model can check the verdict on every interval, however slow a node is. */
const OPEN_INTERVALS = 1_000;
const START = new Date('2026-11-27T10:00:00Z');
/** Planner runs for one interval before the model gives up: each crash rule crashes one call. */
const MAX_PLANNER_ROUNDS = 20;
/** A straggling delivery waits up to this many promise turns before each port call. */
const STRAGGLER_TURNS = 40;

const APPLIER_STEPS = ['applier.nodes.get', 'applier.log.readRange', 'applier.replica.write', 'applier.nodes.advanceCursor'] as const;
const PLANNER_STEPS = [
  'planner.log.readHead',
  'planner.convergence.putPlanHeader',
  'planner.nodes.scanActive',
  'planner.queue.send',
  'planner.nodes.claimPlan',
  'planner.convergence.addPlanTotals',
] as const;

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Scenario {
  readonly intervalSeconds: number;
  readonly batchSize: number;
  readonly rates: readonly number[];
  /**
   * Per interval, the requests producers send at once. Ingest that stops: after the last interval
   * ingest stops. Continuous ingest: the list repeats, and ingest goes on until every node's bound
   * (measured when the faults stop) has been watched for a few intervals.
   */
  readonly ingest: readonly (readonly (readonly NewUpdate[])[])[];
  readonly continuous: boolean;
  /** The checker and the planner fire at the same scheduled time; which runs first is chance. */
  readonly checkerFirst: boolean;
  /** Seeds the jitter of ingest retries, shuffles and straggler delays. */
  readonly seed: number;
}

type PlannerDuplicate = 'sequential' | 'concurrent' | 'late';

/**
 * A second delivery of the same message: after the first, overlapping it, or straggling — a slow
 * copy (a Lambda past its visibility timeout) whose steps land while the group moves on.
 */
type DuplicateDelivery = 'sequential' | 'concurrent' | 'straggler';

interface Faults {
  /**
   * Faults strike in the first `window` intervals only; from then on the run is fault-free. Held
   * messages are released in the window's last interval, so nothing is in flight after it.
   */
  readonly window: number;
  readonly crashes: readonly CrashRule[];
  /** Deliveries (numbered from 1) that SQS hands out twice. */
  readonly duplicates: ReadonlyMap<number, DuplicateDelivery>;
  /** Intervals (from 0) in which each node's waiting messages arrive shuffled. */
  readonly reordered: ReadonlySet<number>;
  /** `interval:node` pairs (from 0) in which the node's messages wait (a throttled or slow consumer). */
  readonly heldOver: ReadonlySet<string>;
  /** Messages (by send order, from 0) whose body arrives corrupted: they fail until dead-lettered. */
  readonly poisoned: ReadonlySet<number>;
  /**
   * Extra planner runs for an interval: after the first, alongside it, or late — after more
   * ingest (the interval's requests are split around the first run).
   */
  readonly plannerDuplicates: ReadonlyMap<number, PlannerDuplicate>;
  /** Messages (by send order, from 0) acknowledged without being applied: lost tokens. */
  readonly lost: ReadonlySet<number>;
  /**
   * `interval:node` pairs in which the node is paused, from just after the interval's plan: the
   * applier acknowledges its tokens unapplied, later planners leave it out. It resumes when a run of
   * pauses ends (the window's last interval at the latest).
   */
  readonly paused: ReadonlySet<string>;
  /**
   * Intervals in whose first planner run SQS refuses some tokens (after the adapter's retries): the
   * rest of each call lands, the refused nodes stay unclaimed, and the run is retried.
   */
  readonly refusedSends: ReadonlySet<number>;
}

const valueArb: fc.Arbitrary<JsonValue> = fc.oneof(
  { arbitrary: fc.integer({ min: -5, max: 5 }), weight: 3 },
  { arbitrary: fc.string({ maxLength: 4 }), weight: 2 },
  {
    // fast-check types object members as optional; the values it generates hold no undefined.
    // Known defect: parseIngestRequest silently drops "__proto__" members (zod's record does), so
    // such a value would not land as sent; kept out until the schema rejects or keeps them.
    arbitrary: fc
      .jsonValue({ maxDepth: 2 })
      .filter((value) => !JSON.stringify(value).includes('"__proto__"'))
      .map((value) => value as JsonValue),
    weight: 1,
  },
);

const updateArb: fc.Arbitrary<NewUpdate> = fc.oneof(
  { arbitrary: fc.record({ key: fc.constantFrom(...KEYS), op: fc.constant('put' as const), value: valueArb }), weight: 3 },
  { arbitrary: fc.record({ key: fc.constantFrom(...KEYS), op: fc.constant('delete' as const) }), weight: 1 },
);

const rateArb = fc.oneof(
  fc.constantFrom(0.02, 0.05, 0.1, 1 / 3),
  fc.integer({ min: 1, max: 30 }).map((tenths) => tenths / 10),
  fc.double({ min: 0.02, max: 3, noNaN: true }),
);

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    intervalSeconds: fc.integer({ min: 1, max: 20 }),
    batchSize: fc.integer({ min: 1, max: 10 }),
    rates: fc.array(rateArb, { minLength: 1, maxLength: 6 }),
    ingest: fc.array(fc.array(fc.array(updateArb, { minLength: 1, maxLength: 5 }), { maxLength: 3 }), { minLength: 1, maxLength: 6 }),
    checkerFirst: fc.boolean(),
    seed: fc.integer(),
  })
  .filter((scenario) => scenario.ingest.some((requests) => requests.length > 0))
  .map((scenario) => ({ ...scenario, continuous: false }));

/**
 * Ingest that never stops: every interval brings 1–2 requests of 1–4 updates (at most 8 an
 * interval), and the rates put shares on both sides of that (t = 4–20 s, r = 0.1–3/s).
 */
const continuousScenarioArb: fc.Arbitrary<Scenario> = fc.record({
  intervalSeconds: fc.integer({ min: 4, max: 20 }),
  batchSize: fc.integer({ min: 1, max: 10 }),
  rates: fc.array(fc.integer({ min: 1, max: 30 }).map((tenths) => tenths / 10), { minLength: 1, maxLength: 5 }),
  ingest: fc.array(fc.array(fc.array(updateArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 2 }), { minLength: 3, maxLength: 8 }),
  checkerFirst: fc.boolean(),
  seed: fc.integer(),
  continuous: fc.constant(true),
});

const crashArb = (steps: readonly string[], maxNth: number): fc.Arbitrary<CrashRule> =>
  fc.record({ call: fc.constantFrom(...steps), nth: fc.integer({ min: 1, max: maxNth }), when: fc.constantFrom('before' as const, 'after' as const) });

/** Runs of intervals (`from`, for `intervals`) in which one node is affected. */
const nodeRunsArb = (maxRuns: number): fc.Arbitrary<{ node: number; from: number; intervals: number }[]> =>
  fc.array(fc.record({ node: fc.nat({ max: 5 }), from: fc.nat({ max: 11 }), intervals: fc.integer({ min: 1, max: 6 }) }), { maxLength: maxRuns });

const asPairs = (runs: readonly { node: number; from: number; intervals: number }[]): Set<string> =>
  new Set(runs.flatMap(({ node, from, intervals }) => Array.from({ length: intervals }, (_, offset) => `${from + offset}:${node}`)));

const faultsArb: fc.Arbitrary<Faults> = fc
  .record({
    window: fc.integer({ min: 1, max: 12 }),
    applierCrashes: fc.array(crashArb(APPLIER_STEPS, 50), { maxLength: 8 }),
    plannerCrashes: fc.array(crashArb(PLANNER_STEPS, 12), { maxLength: 4 }),
    duplicates: fc.array(fc.tuple(fc.integer({ min: 1, max: 80 }), fc.constantFrom<DuplicateDelivery>('sequential', 'concurrent', 'straggler')), {
      maxLength: 10,
    }),
    reordered: fc.array(fc.nat({ max: 11 }), { maxLength: 4 }),
    // Runs of intervals in which one node's messages wait: long runs outlast staleAfterIntervals.
    heldOver: nodeRunsArb(3),
    poisoned: fc.array(fc.nat({ max: 60 }), { maxLength: 4 }),
    plannerDuplicates: fc.array(fc.tuple(fc.nat({ max: 11 }), fc.constantFrom<PlannerDuplicate>('sequential', 'concurrent', 'late')), { maxLength: 4 }),
    lost: fc.array(fc.nat({ max: 60 }), { maxLength: 6 }),
    paused: nodeRunsArb(2),
    refusedSends: fc.array(fc.nat({ max: 11 }), { maxLength: 3 }),
  })
  .map(
    (raw): Faults => ({
      window: raw.window,
      crashes: [...raw.applierCrashes, ...raw.plannerCrashes],
      duplicates: new Map(raw.duplicates),
      reordered: new Set(raw.reordered),
      heldOver: asPairs(raw.heldOver),
      poisoned: new Set(raw.poisoned),
      plannerDuplicates: new Map(raw.plannerDuplicates),
      lost: new Set(raw.lost),
      paused: asPairs(raw.paused),
      refusedSends: new Set(raw.refusedSends),
    }),
  );

const NO_FAULTS: Faults = {
  window: 0,
  crashes: [],
  duplicates: new Map(),
  reordered: new Set(),
  heldOver: new Set(),
  poisoned: new Set(),
  plannerDuplicates: new Map(),
  lost: new Set(),
  paused: new Set(),
  refusedSends: new Set(),
};

// ---------------------------------------------------------------------------------------------
// Helpers


function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** Waits until every pending promise job has run: the calls a crashed run left in flight land. */
async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A cheap assertion for the hot loop; fast-check reports the message with the counterexample. */
function invariant(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new Error(`invariant broken: ${message()}`);
}

const noSleep = async (): Promise<void> => {};

/** The replica a node that applied `entries` must hold, in key order as the store lists it. */
function expectedReplica(entries: readonly LogEntry[]): ReplicaItem[] {
  return [...replay(entries).values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// The model

/** What a run leaves behind for the convergence properties. */
interface RunReport {
  readonly nodeIds: readonly string[];
  readonly head: number;
  /**
   * Index (from 0) of the interval from which the run is settled: ingest has stopped (the first
   * planner run that sees the final head) and faults have stopped. Lags are measured there.
   */
  readonly settledAt: number;
  /** H − appliedSeq of each node just before the settled interval is planned. */
  readonly lags: readonly number[];
  readonly shares: readonly number[];
  /** Index of the interval at whose end each node first held the final head. */
  readonly reachedHead: readonly number[];
  /** Index of the last interval run (planned). */
  readonly lastInterval: number;
  readonly firstInterval: number;
  readonly records: readonly ConvergenceRecord[];
  /** Per interval (from 0): H_i, the head its plan header holds. */
  readonly plannedHeads: readonly number[];
  /** Per interval, per node: appliedSeq after the interval's deliveries. */
  readonly appliedAfter: readonly (readonly number[])[];
  /** Per node: head − appliedSeq just before the first fault-free interval (the faults' window) is planned. */
  readonly deficits: readonly number[];
  /** The most updates ingested in one interval. */
  readonly ingestMax: number;
  /** The first interval with no ingest (continuous ingest runs until then). */
  readonly ingestEnd: number;
}

/** Counts across all runs of a property, so the test can prove its faults actually happened. */
interface FaultTally {
  crashes: number;
  deadLettered: number;
  duplicateDeliveries: number;
  stragglers: number;
  reorderedGroups: number;
  heldGroups: number;
  plannerDuplicates: number;
  lostTokens: number;
  pausedDeliveries: number;
  refusedTokens: number;
  resends: number;
  observations: number;
  inFlightCaps: number;
  claimsLost: number;
  delayedNodes: number;
}

/** The tally's counts of faults the model injects (the others count how the system reacted). */
const INJECTED_FAULTS = [
  'crashes',
  'deadLettered',
  'duplicateDeliveries',
  'stragglers',
  'reorderedGroups',
  'heldGroups',
  'plannerDuplicates',
  'lostTokens',
  'pausedDeliveries',
  'refusedTokens',
] as const satisfies readonly (keyof FaultTally)[];

function emptyTally(): FaultTally {
  return {
    crashes: 0,
    deadLettered: 0,
    duplicateDeliveries: 0,
    stragglers: 0,
    reorderedGroups: 0,
    heldGroups: 0,
    plannerDuplicates: 0,
    lostTokens: 0,
    pausedDeliveries: 0,
    refusedTokens: 0,
    resends: 0,
    observations: 0,
    inFlightCaps: 0,
    claimsLost: 0,
    delayedNodes: 0,
  };
}

/** A message SQS holds for a consumer, with its receive count. */
interface InFlight {
  readonly message: QueuedMessage;
  readonly index: number;
  receives: number;
}

/** How one interval's deliveries misbehave. */
interface DeliveryFaults {
  readonly faulty: boolean;
  readonly reorder: boolean;
  /** Nodes whose messages wait for a later interval. */
  readonly held: ReadonlySet<string>;
}

const CLEAN_DELIVERY: DeliveryFaults = { faulty: false, reorder: false, held: new Set() };

class PipelineModel {
  readonly ports = createInMemoryPorts();
  private readonly faultPlan: FaultPlan;
  private readonly random: () => number;
  private readonly nodeIds: readonly string[];
  private readonly firstInterval: number;
  private readonly plannerDeps: PlanIntervalDeps;
  private readonly applierDeps: ApplyMicrobatchDeps;
  private readonly stragglerDeps: ApplyMicrobatchDeps;
  private readonly checkerDeps: CheckConvergenceDeps;
  private now: Date = START;
  private deliveries = 0;
  private messagesTaken = 0;
  private waiting: InFlight[] = [];
  private stragglers: Promise<void>[] = [];
  /** Nodes paused now (their tokens are acknowledged unapplied). */
  private readonly pausedNodes = new Set<string>();
  /** H_i per interval index, from the plan header. */
  private readonly plannedHeads: number[] = [];
  /** `nodeId:start:end` of every delivery that reported it applied updates. */
  readonly appliedOutcomes: string[] = [];
  private readonly lastSeenApplied = new Map<string, number>();
  /** The seq of every replica key as last seen, per node. */
  private readonly lastSeenKeys = new Map<string, number>();
  /** When the model first saw each interval's record converged: convergedAt must never change. */
  private readonly convergedAt = new Map<number, string>();
  /** Intervals whose every active node once held H_k: converged for good, whatever comes later. */
  private readonly everDue = new Set<number>();

  constructor(
    private readonly scenario: Scenario,
    private readonly faults: Faults,
    private readonly tally: FaultTally,
  ) {
    const { intervalSeconds, batchSize } = scenario;
    this.random = seededRandom(scenario.seed);
    this.faultPlan = new FaultPlan(faults.crashes);
    this.nodeIds = scenario.rates.map((_, index) => `n-${index}`);
    this.firstInterval = intervalIndex(START, intervalSeconds);
    const { log, nodes, replica, convergence, queue } = this.ports;
    const plan = this.faultPlan;
    this.plannerDeps = {
      rules: { stream: STREAM, intervalSeconds, batchSize, maxInFlightIntervals, staleAfterIntervals },
      retentionDays,
      log: plan.wrap('planner.log', log),
      nodes: plan.wrap('planner.nodes', nodes),
      queue: plan.wrap('planner.queue', queue),
      convergence: plan.wrap('planner.convergence', convergence),
    };
    this.applierDeps = {
      stream: STREAM,
      batchSize,
      log: plan.wrap('applier.log', log),
      nodes: plan.wrap('applier.nodes', nodes),
      replica: plan.wrap('applier.replica', replica),
      now: () => this.now,
    };
    const turns = (): number => Math.floor(this.random() * STRAGGLER_TURNS);
    this.stragglerDeps = {
      ...this.applierDeps,
      log: withLatency(this.applierDeps.log, turns),
      nodes: withLatency(this.applierDeps.nodes, turns),
      replica: withLatency(this.applierDeps.replica, turns),
    };
    this.checkerDeps = { stream: STREAM, intervalSeconds, openIntervals: OPEN_INTERVALS, log, nodes, convergence };
  }

  async run(): Promise<RunReport> {
    const { scenario, faults } = this;
    for (const [index, nodeId] of this.nodeIds.entries()) {
      await registerNode({ nodeId, rate: scenario.rates[index] ?? 1 }, { nodes: this.ports.nodes });
    }
    const shares = scenario.rates.map((rate) => sharePerInterval(rate, scenario.intervalSeconds));
    const ingestMax = Math.max(...scenario.ingest.map((requests) => requests.flat().length));
    // Continuous ingest runs until every fast node's bound is known (at the window) and watched.
    let ingestEnd = scenario.continuous ? Number.POSITIVE_INFINITY : scenario.ingest.length;
    let settledAt = scenario.continuous ? Number.POSITIVE_INFINITY : Math.max(this.firstPlanAfterIngest(ingestEnd), faults.window);
    let giveUpAfter = Number.POSITIVE_INFINITY;
    const history: number[][] = [];
    let lags: number[] = [];
    let deficits: number[] = [];

    for (let i = 0; ; i += 1) {
      const k = this.firstInterval + i;
      const faulty = i < faults.window;
      if (!faulty) this.faultPlan.disarm();
      this.now = intervalStart(k, scenario.intervalSeconds);
      const requests = i < ingestEnd ? (scenario.ingest[i % scenario.ingest.length] ?? []) : [];
      const duplicate = faulty ? faults.plannerDuplicates.get(i) : undefined;
      const onTime = duplicate === 'late' ? Math.ceil(requests.length / 2) : requests.length;
      const delivery: DeliveryFaults = faulty
        ? {
            faulty,
            reorder: faults.reordered.has(i),
            // The window's last interval releases every held message.
            held: new Set(i < faults.window - 1 ? this.nodeIds.filter((_, node) => faults.heldOver.has(`${i}:${node}`)) : []),
          }
        : CLEAN_DELIVERY;

      await this.ingest(requests.slice(0, onTime));
      if (i > 0 && scenario.checkerFirst) await this.check(k);
      if (i === faults.window) {
        deficits = await this.lags();
        if (scenario.continuous) {
          // Watch every fast node for a few intervals past its bound, then let ingest stop.
          const bounds = shares.map((share, node) => recoveryBound(faults.window, deficits[node] ?? 0, share, ingestMax));
          ingestEnd = Math.max(faults.window + 3, ...bounds.filter(Number.isFinite)) + 3;
          settledAt = Math.max(this.firstPlanAfterIngest(ingestEnd), faults.window);
        }
      }
      if (i === settledAt) {
        lags = await this.lags();
        // Far beyond the bounds asserted later; only a run that stops converging gets here.
        giveUpAfter = settledAt + Math.max(...lags) + staleAfterIntervals + 5;
      }
      await this.plan(k, i, duplicate, delivery);
      // A pause lands between the plan and its deliveries: the tokens just sent are acknowledged unapplied.
      await this.pauseAndResume(i);
      if (i > 0 && !scenario.checkerFirst) await this.check(k);
      await this.deliver(delivery);
      if (duplicate === 'late') {
        await this.ingest(requests.slice(onTime));
        await this.plan(k, i, 'late', delivery);
        await this.deliver(delivery);
      }
      const applied = (await this.allNodes()).map((node) => node.appliedSeq);
      history.push(applied);

      const head = (await this.ports.log.readHead(STREAM)).head;
      if (i >= settledAt && applied.every((seq) => seq === head)) {
        // The next interval's checker finds the plans converged.
        await this.check(k + 1);
        return {
          nodeIds: this.nodeIds,
          head,
          settledAt,
          lags,
          shares,
          reachedHead: this.nodeIds.map((_, node) => history.findIndex((row) => row[node] === head)),
          lastInterval: i,
          firstInterval: this.firstInterval,
          records: await this.ports.convergence.recent(STREAM, k, OPEN_INTERVALS),
          plannedHeads: this.plannedHeads,
          appliedAfter: history,
          deficits,
          ingestMax,
          ingestEnd,
        };
      }
      invariant(i < giveUpAfter, () => `the nodes did not converge within ${giveUpAfter} intervals: ${applied.join()} of ${head}`);
      invariant(i < 500, () => `the run did not settle within 500 intervals`);
    }
  }

  /**
   * Index of the first planner run that sees the final head: after the last append before
   * `ingestEnd`. A late planner duplicate splits its interval's requests around the first run.
   */
  private firstPlanAfterIngest(ingestEnd: number): number {
    const requestsOf = (i: number): readonly (readonly NewUpdate[])[] => this.scenario.ingest[i % this.scenario.ingest.length] ?? [];
    let last = ingestEnd - 1;
    while (last > 0 && requestsOf(last).length === 0) last -= 1;
    const requests = requestsOf(last);
    const late = last < this.faults.window && this.faults.plannerDuplicates.get(last) === 'late' && requests.length > Math.ceil(requests.length / 2);
    return late ? last + 1 : last;
  }

  /**
   * Pauses the nodes whose pause starts in interval i and resumes those whose pause ended, between
   * the interval's plan and its deliveries. Every pause ends by the window's last interval, so
   * nothing is paused once the faults stop.
   */
  private async pauseAndResume(i: number): Promise<void> {
    for (const [node, nodeId] of this.nodeIds.entries()) {
      const paused = i < this.faults.window - 1 && this.faults.paused.has(`${i}:${node}`);
      if (paused === this.pausedNodes.has(nodeId)) continue;
      if (paused) this.pausedNodes.add(nodeId);
      else this.pausedNodes.delete(nodeId);
      await registerNode({ nodeId, rate: this.scenario.rates[node] ?? 1, status: paused ? 'paused' : 'active' }, { nodes: this.ports.nodes });
    }
  }

  /** Producers send their requests at once; the log must serialize them. */
  private async ingest(requests: readonly (readonly NewUpdate[])[]): Promise<void> {
    await Promise.all(
      requests.map((updates) =>
        appendUpdates({ updates }, { stream: STREAM, log: this.ports.log, now: () => this.now, sleep: noSleep, random: this.random }),
      ),
    );
  }

  private async lags(): Promise<number[]> {
    const head = (await this.ports.log.readHead(STREAM)).head;
    return (await this.allNodes()).map((node) => head - node.appliedSeq);
  }

  /**
   * The planner runs the schedule delivers for k. A crashed run — or one that left nodes unclaimed
   * because SQS refused some of their tokens, which the handler turns into a failure — is retried
   * the way Lambda retries an asynchronous invocation: later, after the applier has consumed what
   * the failed run sent.
   */
  private async plan(k: number, i: number, duplicate: PlannerDuplicate | undefined, delivery: DeliveryFaults): Promise<void> {
    if (duplicate !== undefined) this.tally.plannerDuplicates += 1;
    const refuse = delivery.faulty && this.faults.refusedSends.has(i);
    let failed = await this.planRuns(k, duplicate === 'concurrent' ? 2 : 1, refuse);
    if (duplicate === 'sequential') failed += await this.planRuns(k, 1, false);
    for (let round = 1; failed > 0; round += 1) {
      invariant(round < MAX_PLANNER_ROUNDS, () => `the planner of ${k} kept failing`);
      await this.deliver(delivery);
      failed = await this.planRuns(k, failed, false);
    }
    const [header] = await this.ports.convergence.recent(STREAM, k, 1);
    invariant(header?.interval === k, () => `interval ${k} has no plan header after its planner ran`);
    this.plannedHeads[i] = header.head;
  }

  /** Starts `runs` planner runs for k at once. @returns how many failed (crashed, or left nodes unclaimed). */
  private async planRuns(k: number, runs: number, refuse: boolean): Promise<number> {
    const plannedAt = intervalStart(k, this.scenario.intervalSeconds);
    const appliedBefore = new Map((await this.allNodes()).map((node) => [node.nodeId, node.appliedSeq]));
    const sentBefore = this.ports.queue.messages.length;
    // SQS refuses about half the tokens of this run (the rest of each call lands).
    this.ports.queue.refuseWhen(
      refuse
        ? () => {
            const refused = this.random() < 0.5;
            if (refused) this.tally.refusedTokens += 1;
            return refused;
          }
        : undefined,
    );
    const outcomes = await Promise.allSettled(Array.from({ length: runs }, () => planInterval({ interval: k, plannedAt }, this.plannerDeps)));
    this.ports.queue.refuseWhen(undefined);
    // A crashed run's calls already in flight still land.
    await settle();
    let failed = 0;
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') {
        this.tally.resends += outcome.value.resends;
        this.tally.observations += outcome.value.observations;
        this.tally.inFlightCaps += outcome.value.skipped['in-flight-cap'];
        this.tally.claimsLost += outcome.value.claimsLost;
        if (outcome.value.unsentNodes > 0) failed += 1;
        continue;
      }
      if (!(outcome.reason instanceof InjectedCrash)) throw outcome.reason;
      this.tally.crashes += 1;
      failed += 1;
    }
    // Every token sent carries work the node had not applied when the round began.
    for (const message of this.ports.queue.messages.slice(sentBefore)) {
      const { nodeId, target } = parseMicrobatch(message.body);
      const applied = appliedBefore.get(nodeId) ?? 0;
      invariant(target > applied, () => `the planner of ${k} sent ${message.deduplicationId} to ${nodeId}, which had applied ${applied}`);
    }
    await this.checkNodes();
    return failed;
  }

  /**
   * Hands the waiting messages to the applier, node by node in FIFO order (nodes in parallel),
   * until none is deliverable: a record that fails comes back, and after MAX_RECEIVE_COUNT receives
   * it is dead-lettered. A failed record holds back the rest of its group until its next receive.
   */
  private async deliver(faults: DeliveryFaults): Promise<void> {
    const fresh = this.ports.queue.messages.slice(this.messagesTaken);
    this.waiting.push(...fresh.map((message, offset) => ({ message, index: this.messagesTaken + offset, receives: 0 })));
    this.messagesTaken += fresh.length;
    for (;;) {
      const groups = new Map<string, InFlight[]>();
      const held: InFlight[] = [];
      for (const item of this.waiting) {
        if (faults.held.has(item.message.groupId)) held.push(item);
        else groups.set(item.message.groupId, [...(groups.get(item.message.groupId) ?? []), item]);
      }
      if (groups.size === 0) {
        this.tally.heldGroups += new Set(held.map((item) => item.message.groupId)).size;
        break;
      }
      const leftOver = await Promise.all(
        [...groups.values()].map((group) => {
          if (!faults.reorder || group.length < 2) return this.deliverGroup(group, faults.faulty);
          this.tally.reorderedGroups += 1;
          return this.deliverGroup(shuffled(group, this.random), faults.faulty);
        }),
      );
      this.waiting = [...held, ...leftOver.flat()];
    }
    await Promise.all(this.stragglers);
    this.stragglers = [];
    await this.checkNodes();
  }

  /** @returns the messages of the group still waiting. */
  private async deliverGroup(group: readonly InFlight[], faulty: boolean): Promise<InFlight[]> {
    for (const [position, item] of group.entries()) {
      if (await this.receive(item, faulty)) continue;
      item.receives += 1;
      const rest = group.slice(position + 1);
      if (item.receives < MAX_RECEIVE_COUNT) return [item, ...rest];
      this.tally.deadLettered += 1;
      return rest;
    }
    return [];
  }

  /** One receive of a message, perhaps delivered twice. @returns whether the record succeeded. */
  private async receive(item: InFlight, faulty: boolean): Promise<boolean> {
    this.deliveries += 1;
    if (faulty && this.faults.lost.has(item.index)) {
      // Acknowledged and gone, as if a consumer deleted it without applying it.
      this.tally.lostTokens += 1;
      return true;
    }
    const poisoned = faulty && this.faults.poisoned.has(item.index);
    const body = poisoned ? item.message.body.replace('"v":1', '"v":2') : item.message.body;
    const handle = (deps: ApplyMicrobatchDeps): Promise<void> => this.handle(body, deps, poisoned);
    const duplicate = faulty ? this.faults.duplicates.get(this.deliveries) : undefined;
    if (duplicate !== undefined) this.tally.duplicateDeliveries += 1;

    let succeeded: boolean[];
    if (duplicate === 'concurrent') {
      succeeded = await Promise.all([handle(this.applierDeps), handle(this.applierDeps)].map(succeeds));
    } else if (duplicate === 'sequential') {
      succeeded = [await succeeds(handle(this.applierDeps)), await succeeds(handle(this.applierDeps))];
    } else {
      if (duplicate === 'straggler') {
        this.tally.stragglers += 1;
        this.stragglers.push(succeeds(handle(this.stragglerDeps)).then(() => undefined));
      }
      succeeded = [await succeeds(handle(this.applierDeps))];
    }
    await this.checkNodes();
    return succeeded.some(Boolean);
  }

  /**
   * The applier handler's record handler: validate the body, then apply. Fails the record (rejects)
   * only for the reasons a faulty run can produce; anything else fails the property.
   */
  private async handle(body: string, deps: ApplyMicrobatchDeps, poisoned: boolean): Promise<void> {
    try {
      const microbatch = parseMicrobatch(body);
      const outcome = await applyMicrobatch(microbatch, deps);
      if (outcome.kind === 'paused-node') {
        // Only a node the model paused: its token is acknowledged unapplied, a lost token.
        invariant(this.pausedNodes.has(microbatch.nodeId), () => `${microbatch.nodeId} reported paused but is active`);
        this.tally.pausedDeliveries += 1;
        return;
      }
      invariant(outcome.kind === 'applied' || outcome.kind === 'duplicate', () => `unexpected outcome ${outcome.kind}`);
      if (outcome.kind === 'applied') this.appliedOutcomes.push(`${microbatch.nodeId}:${outcome.start}:${outcome.end}`);
    } catch (error) {
      if (error instanceof InjectedCrash) this.tally.crashes += 1;
      else if (!(error instanceof CursorRaceError) && !(poisoned && error instanceof ValidationError)) throw new UnexpectedFailure(error);
      throw error;
    }
  }

  /**
   * Throughout: no cursor moves backward or past the head, no replica key moves back in seq, and
   * in-flight work stays within the cap.
   */
  private async checkNodes(): Promise<void> {
    const head = (await this.ports.log.readHead(STREAM)).head;
    for (const node of await this.allNodes()) {
      const before = this.lastSeenApplied.get(node.nodeId) ?? 0;
      invariant(node.appliedSeq >= before, () => `${node.nodeId} moved back from ${before} to ${node.appliedSeq}`);
      invariant(node.appliedSeq <= head, () => `${node.nodeId} at ${node.appliedSeq} is past the head ${head}`);
      this.lastSeenApplied.set(node.nodeId, node.appliedSeq);
      for (const item of await this.ports.replica.list(node.nodeId)) {
        const id = `${node.nodeId}/${item.key}`;
        const seen = this.lastSeenKeys.get(id) ?? 0;
        invariant(item.seq >= seen, () => `${id} moved back from seq ${seen} to ${item.seq}`);
        this.lastSeenKeys.set(id, item.seq);
      }
      // New work is planned only while less than maxInFlightIntervals shares are outstanding, and adds one share.
      const share = sharePerInterval(node.rate, this.scenario.intervalSeconds);
      invariant(
        node.plannedSeq - node.appliedSeq < (maxInFlightIntervals + 1) * share,
        () => `${node.nodeId} has ${node.plannedSeq - node.appliedSeq} updates outstanding, share ${share}`,
      );
    }
  }

  /** Every node, paused or active, in node order. */
  private async allNodes(): Promise<NodeState[]> {
    return Promise.all(
      this.nodeIds.map(async (nodeId) => {
        const node = await this.ports.nodes.get(nodeId);
        invariant(node !== undefined, () => `node ${nodeId} is missing`);
        return node;
      }),
    );
  }

  /**
   * Runs the checker of `interval` and holds its verdicts against the nodes as they are: the
   * laggards it names are exactly the real ones, an interval's record converges the first time every
   * active node holds its head — convergedAt set then and never again, and never undone — and no
   * plan is judged early.
   */
  private async check(interval: number): Promise<void> {
    const now = intervalStart(interval, this.scenario.intervalSeconds);
    const active = (await this.allNodes()).filter((node) => node.status === 'active');
    const result = await checkConvergence({ interval, now }, this.checkerDeps);
    for (const verdict of [...result.evaluated, result.current]) checkVerdict(verdict, active);

    for (const record of await this.ports.convergence.recent(STREAM, interval, OPEN_INTERVALS)) {
      if (record.interval >= interval) {
        invariant(record.checkedAt === undefined, () => `the checker of ${interval} judged the plan of ${record.interval} before it could land`);
        continue;
      }
      if (active.every((node) => node.appliedSeq >= record.head)) this.everDue.add(record.interval);
      const due = this.everDue.has(record.interval);
      invariant(
        record.converged === due,
        () => `interval ${record.interval} (head ${record.head}) converged=${record.converged}, active nodes at ${active.map((node) => node.appliedSeq).join()}`,
      );
      if (!due) {
        invariant(record.convergedAt === undefined, () => `interval ${record.interval} has convergedAt before converging`);
        continue;
      }
      const first = this.convergedAt.get(record.interval) ?? now.toISOString();
      this.convergedAt.set(record.interval, first);
      invariant(record.convergedAt === first, () => `interval ${record.interval} convergedAt ${record.convergedAt}, expected ${first}`);
    }
  }
}

/** A record failed for a reason no fault explains. */
class UnexpectedFailure extends Error {
  constructor(cause: unknown) {
    super(`a delivery failed unexpectedly: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'UnexpectedFailure';
  }
}

/** Whether a delivery succeeded; an unexpected failure fails the whole run. */
async function succeeds(delivery: Promise<void>): Promise<boolean> {
  try {
    await delivery;
    return true;
  } catch (error) {
    if (error instanceof UnexpectedFailure) throw error;
    return false;
  }
}

function checkVerdict(verdict: IntervalVerdict, nodes: readonly NodeState[]): void {
  const real = nodes
    .filter((node) => node.appliedSeq < verdict.head)
    .map((node) => ({ nodeId: node.nodeId, lag: verdict.head - node.appliedSeq }))
    .sort((a, b) => b.lag - a.lag || (a.nodeId < b.nodeId ? -1 : 1));
  const describe = (laggards: readonly { nodeId: string; lag: number }[]): string => laggards.map(({ nodeId, lag }) => `${nodeId}:${lag}`).join();
  invariant(verdict.laggingCount === real.length, () => `interval ${verdict.interval} counts ${verdict.laggingCount} laggards, the real ones are [${describe(real)}]`);
  // The verdict names the first reportTopN laggards by lag (all of them here: at most 6 nodes).
  const named = verdict.laggingNodes.map(({ nodeId, lagUpdates }) => ({ nodeId, lag: lagUpdates }));
  invariant(describe(named) === describe(real.slice(0, named.length)) && named.length === Math.min(real.length, 10), () => `interval ${verdict.interval} names [${describe(named)}], the real laggards are [${describe(real)}]`);
  invariant(verdict.integrityFailureCount === 0, () => `interval ${verdict.interval} reports ${verdict.integrityFailureCount} integrity failures`);
  invariant(verdict.converged === (real.length === 0), () => `interval ${verdict.interval} converged=${verdict.converged} with laggards [${describe(real)}]`);
}

/**
 * After the drain: every node holds the head and its replica is an exact replay of the log; every
 * cursor move went forward by at most b; no node got more than one plan in an interval; every
 * record converged.
 */
async function auditAfterDrain(model: PipelineModel, report: RunReport, scenario: Scenario): Promise<void> {
  const { log, nodes, replica, convergence, queue } = model.ports;
  const head = await log.readHead(STREAM);
  const entries = await log.readRange(STREAM, 0, head.head);
  expect(entries.map((entry) => entry.seq)).toEqual(Array.from({ length: head.head }, (_, index) => index + 1));
  expect(firstChainBreak(0, GENESIS_CHAIN, entries)).toBeUndefined();

  for (const nodeId of report.nodeIds) {
    const node = await nodes.get(nodeId);
    expect(node?.appliedSeq).toBe(head.head);
    expect(node?.appliedChain).toBe(head.head === 0 ? GENESIS_CHAIN : entries.at(-1)?.chain);
    expect(await replica.list(nodeId)).toEqual(expectedReplica(entries.slice(0, node?.appliedSeq)));
  }

  // Each delivery that reported "applied" made its own cursor move; none claims another's.
  const moves = new Set(nodes.cursorMoves.map((move) => `${move.nodeId}:${move.expectedAppliedSeq}:${move.cursor.appliedSeq}`));
  expect(new Set(model.appliedOutcomes).size).toBe(model.appliedOutcomes.length);
  for (const outcome of model.appliedOutcomes) expect(moves.has(outcome), `cursor move ${outcome}`).toBe(true);

  const moved = new Map<string, number>();
  for (const move of nodes.cursorMoves) {
    expect(move.expectedAppliedSeq).toBe(moved.get(move.nodeId) ?? 0);
    expect(move.cursor.appliedSeq).toBeGreaterThan(move.expectedAppliedSeq);
    expect(move.cursor.appliedSeq - move.expectedAppliedSeq).toBeLessThanOrEqual(scenario.batchSize);
    moved.set(move.nodeId, move.cursor.appliedSeq);
  }

  // However many planner runs an interval had, a node won one claim in it: the claim's condition
  // also requires that no claim for this interval or a later one is there.
  const claimed = new Set<string>();
  for (const { nodeId, claim } of nodes.claims) {
    const id = `${nodeId}@${claim.plannedInterval}`;
    expect(claimed.has(id), `a second claim on ${id}`).toBe(false);
    claimed.add(id);
  }
  // However many planner runs an interval had (duplicates, retries after a crash between send and
  // claim or after refused sends), the tokens a node was sent in it start from one plannedSeq and
  // carry at most one share of new work: a retry plans against the same header head and the same
  // unclaimed plannedSeq, so it never plans a second share from the cursor. (Its target may still
  // differ from the failed run's: a re-send of stalled work can become new work once the cursor moved.)
  const planned = new Map<string, { froms: Set<number>; newWork: number }>();
  for (const message of queue.messages) {
    const { nodeId, interval, from, target } = parseMicrobatch(message.body);
    const id = `${nodeId}@${interval}`;
    const entry = planned.get(id) ?? { froms: new Set<number>(), newWork: 0 };
    entry.froms.add(from);
    entry.newWork = Math.max(entry.newWork, target - from);
    planned.set(id, entry);
  }
  for (const [id, { froms, newWork }] of planned) {
    expect([...froms], `where the plans of ${id} start`).toHaveLength(1);
    const share = report.shares[report.nodeIds.indexOf(id.slice(0, id.indexOf('@')))] ?? 0;
    expect(newWork, `the new work planned for ${id}`).toBeLessThanOrEqual(share);
  }

  for (const record of await convergence.recent(STREAM, Number.MAX_SAFE_INTEGER, OPEN_INTERVALS)) {
    expect(record.converged).toBe(true);
    expect(record.convergedAt).toBeDefined();
  }
}

/**
 * The interval from which a node whose share exceeds the ingest is consistent again, faults having
 * stopped at F with the node `deficit` behind: F + staleAfterIntervals + ceil(deficit / (share −
 * ingest)) + 1. Infinite for a node whose share does not exceed the ingest.
 */
function recoveryBound(faultsStopAt: number, deficit: number, share: number, ingest: number): number {
  if (share <= ingest) return Number.POSITIVE_INFINITY;
  return faultsStopAt + staleAfterIntervals + Math.ceil(deficit / (share - ingest)) + 1;
}

/** ceil(L_i / ceil(r_i·t)): intervals node i needs from the settled interval, one share each. */
function minimumIntervals(report: RunReport, node: number): number {
  return Math.ceil((report.lags[node] ?? 0) / (report.shares[node] ?? 1));
}

function recordOf(report: RunReport, index: number): ConvergenceRecord | undefined {
  return report.records.find((record) => record.interval === report.firstInterval + index);
}

function startOf(report: RunReport, index: number, scenario: Scenario): string {
  return intervalStart(report.firstInterval + index, scenario.intervalSeconds).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Properties

describe('the pipeline model', () => {
  it('converges every node exactly at the interval the formula predicts when nothing fails', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const model = new PipelineModel(scenario, NO_FAULTS, emptyTally());
        const report = await model.run();
        await auditAfterDrain(model, report, scenario);

        // With every message applied in its interval, node i takes min(lag, ceil(r_i·t)) per
        // interval from the first plan that sees the final head: it holds the head at the end of
        // interval settledAt − 1 + ceil(L_i / ceil(r_i·t)), not one interval later or sooner.
        const expected = scenario.rates.map((_, node) => report.settledAt - 1 + minimumIntervals(report, node));
        expect(report.reachedHead).toEqual(expected);

        // The checker fires at the start of the next interval and finds the last plan converged.
        const last = Math.max(...expected);
        expect(report.lastInterval).toBe(last);
        expect(recordOf(report, report.settledAt)?.convergedAt).toBe(startOf(report, last + 1, scenario));
        expect(recordOf(report, last)?.convergedAt).toBe(startOf(report, last + 1, scenario));
      }),
      { numRuns: 200 },
    );
  });

  it('still converges, at most staleAfterIntervals late, despite every kind of fault', { timeout: 300_000 }, async () => {
    const tally = emptyTally();
    await fc.assert(
      fc.asyncProperty(scenarioArb, faultsArb, async (scenario, faults) => {
        const model = new PipelineModel(scenario, faults, tally);
        const report = await model.run();
        await auditAfterDrain(model, report, scenario);

        // The bound. From the settled interval P (ingest and faults over) node i with lag L_i,
        // outstanding work o = plannedSeq − appliedSeq and share s needs at most
        // ceil(L_i/s) + staleAfterIntervals intervals: while new work remains, every plan's tokens
        // carry the outstanding work too, so the cursor reaches each plan's target in its interval;
        // with nothing new (or at the in-flight cap) lost tokens are re-sent once the cursor has
        // stood still for staleAfterIntervals.
        for (const [node, reached] of report.reachedHead.entries()) {
          const minimum = report.settledAt - 1 + minimumIntervals(report, node);
          expect(reached).toBeLessThanOrEqual(minimum + staleAfterIntervals);
          if (reached > minimum) tally.delayedNodes += 1;
        }
        // The plan made against the final head converges at the start of the interval after the
        // last node reached it, and so within the same bound.
        const lastReached = Math.max(report.settledAt, ...report.reachedHead);
        const worst = report.settledAt - 1 + Math.max(...report.reachedHead.map((_, node) => minimumIntervals(report, node))) + staleAfterIntervals;
        const convergedAt = recordOf(report, report.settledAt)?.convergedAt;
        expect(convergedAt).toBe(startOf(report, lastReached + 1, scenario));
        expect(Date.parse(convergedAt ?? '')).toBeLessThanOrEqual(Date.parse(startOf(report, Math.max(worst, report.settledAt) + 1, scenario)));
      }),
      { numRuns: 500 },
    );
    // The fault schedule did its work: each kind of fault struck in some run.
    for (const [fault, count] of Object.entries(tally)) expect(count, fault).toBeGreaterThan(0);
  });

  it('under ingest that never stops, keeps every node consistent at every interval when nothing fails and each share covers the ingest', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        continuousScenarioArb.filter((scenario) => {
          const ingestMax = Math.max(...scenario.ingest.map((requests) => requests.flat().length));
          return scenario.rates.every((rate) => sharePerInterval(rate, scenario.intervalSeconds) >= ingestMax);
        }),
        async (scenario) => {
          const model = new PipelineModel(scenario, NO_FAULTS, emptyTally());
          const report = await model.run();
          await auditAfterDrain(model, report, scenario);

          for (let i = 0; i < report.ingestEnd; i += 1) {
            expect(report.appliedAfter[i], `interval ${i}`).toEqual(report.nodeIds.map(() => report.plannedHeads[i]));
            // Judged by the next interval's checker, the first time it looks.
            expect(recordOf(report, i)?.convergedAt, `interval ${i}`).toBe(startOf(report, i + 1, scenario));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('under ingest that never stops, brings every node whose share exceeds the ingest back within F + staleAfterIntervals + ceil(deficit / (share − ingest)) + 1 once faults stop at F', { timeout: 300_000 }, async () => {
    const tally = emptyTally();
    let watched = 0;
    await fc.assert(
      fc.asyncProperty(continuousScenarioArb, faultsArb, async (scenario, faults) => {
        const model = new PipelineModel(scenario, faults, tally);
        const report = await model.run();
        await auditAfterDrain(model, report, scenario);

        const bounds = report.shares.map((share, node) => recoveryBound(faults.window, report.deficits[node] ?? 0, share, report.ingestMax));
        for (const [node, bound] of bounds.entries()) {
          if (!Number.isFinite(bound)) continue;
          // Consistent at every interval from the bound on, while ingest goes on.
          for (let i = bound; i < report.ingestEnd; i += 1) {
            expect(report.appliedAfter[i]?.[node], `node ${node} at interval ${i} (bound ${bound}, deficit ${report.deficits[node]})`).toBeGreaterThanOrEqual(
              report.plannedHeads[i] ?? Number.POSITIVE_INFINITY,
            );
            watched += 1;
          }
        }
        // With every node fast enough, every interval from the last bound on converges.
        if (bounds.every(Number.isFinite)) {
          for (let i = Math.max(...bounds); i < report.ingestEnd; i += 1) expect(recordOf(report, i)?.converged, `interval ${i}`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    expect(watched).toBeGreaterThan(0);
    // Every kind of fault struck in some run, and some runs needed the re-send of stalled work.
    for (const fault of [...INJECTED_FAULTS, 'resends'] as const) expect(tally[fault], fault).toBeGreaterThan(0);
  });

  it('appends concurrent producers into one gap-free log whose chain verifies', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Up to 150 updates a request: some span two transactions. Eight transactions at most, so
        // no producer can lose the head race on all of its eight attempts.
        fc.array(fc.array(updateArb, { minLength: 1, maxLength: 150 }), { minLength: 2, maxLength: 4 }),
        fc.integer(),
        async (requests, seed) => {
          const log = new InMemoryLog();
          const random = seededRandom(seed);
          const now = (): Date => START;
          const results = await Promise.all(
            requests.map((updates) => appendUpdates({ updates }, { stream: STREAM, log, now, sleep: noSleep, random })),
          );

          const total = requests.reduce((sum, updates) => sum + updates.length, 0);
          const head = await log.readHead(STREAM);
          const entries = await log.readRange(STREAM, 0, head.head);
          expect(head.head).toBe(total);
          expect(entries.map((entry) => entry.seq)).toEqual(Array.from({ length: total }, (_, index) => index + 1));
          expect(firstChainBreak(0, GENESIS_CHAIN, entries)).toBeUndefined();
          expect(head.headChain).toBe(entries.at(-1)?.chain);
          // The producers really raced: all read the same head, all but one had to retry.
          expect(results.reduce((sum, result) => sum + result.retries, 0)).toBeGreaterThanOrEqual(requests.length - 1);

          // Each producer's updates sit, in its order, in the seq ranges it was given.
          for (const [index, result] of results.entries()) {
            const landed = result.seqRanges
              .flatMap(({ firstSeq, lastSeq }) => entries.slice(firstSeq - 1, lastSeq))
              .map(({ key, op, value }) => ({ key, op, ...(value === undefined ? {} : { value }) }));
            expect(landed).toEqual(JSON.parse(JSON.stringify(requests[index])));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
