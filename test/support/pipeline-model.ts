/**
 * The pipeline model the model tests drive (test/model/pipeline.model.test.ts): the real use cases
 * (ingest, planner, applier, checker) against the in-memory ports, interval after interval, with
 * the model playing Lambda and SQS itself — the schedule fires the planner and the checker, FIFO
 * groups deliver each node's messages, failed records come back until `MAX_RECEIVE_COUNT` receives
 * and are then dead-lettered — and injecting the faults a {@link Faults} schedule names.
 *
 * One interval k of the model: ingest → the checker of k (it judges the plans before k; it fires
 * at the same time as the planner, so it runs before or after it) → planner run(s) for k →
 * deliveries until no deliverable message is left. Invariants are checked throughout; a broken one
 * throws, and fast-check reports it with the counterexample.
 */
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { CursorRaceError, ValidationError } from '#shared/domain/errors.ts';
import { sharePerInterval } from '#shared/domain/formula.ts';
import { parseMicrobatch } from '#shared/domain/microbatch.ts';
import type { ConvergenceRecord, IntervalVerdict, NewUpdate, NodeState } from '#shared/domain/types.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import { applyMicrobatch, type ApplyMicrobatchDeps } from '#shared/usecases/apply-microbatch.ts';
import { withPlanHistory } from '#shared/domain/segment-plan.ts';
import type { CheckTask, PlanTask } from '#shared/domain/shard-task.ts';
import { checkShard, type CheckShardDeps } from '#shared/usecases/check-shard.ts';
import { planShard, type PlanShardDeps, type PlanShardResult } from '#shared/usecases/plan-shard.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { startCheck, type StartCheckDeps } from '#shared/usecases/start-check.ts';
import { startPlan, type StartPlanDeps } from '#shared/usecases/start-plan.ts';
import { createInMemoryPorts, FaultPlan, InjectedCrash, InMemoryPlanLedger, withLatency, type CrashRule, type QueuedMessage } from '#test/support/in-memory.ts';
import { seededRandom } from '#local/random.ts';

export const STREAM = 'main';
/** The redrive policy: the receive after which SQS moves a failing message to the DLQ. */
const MAX_RECEIVE_COUNT = 3;
const { maxInFlightIntervals, staleAfterIntervals, retentionDays } = DEFAULT_SETTINGS;
/** Wider than the default look-back so the model can check the verdict on every interval, however slow a node is. */
export const OPEN_INTERVALS = 1_000;
export const START = new Date('2026-11-27T10:00:00Z');
/** Planner runs for one interval before the model gives up: each crash rule crashes one call. */
const MAX_PLANNER_ROUNDS = 20;
/** A straggling delivery waits up to this many promise turns before each port call. */
const STRAGGLER_TURNS = 40;

/** The port calls of the applier and of the planner a crash rule can name (the model wraps the ports under these prefixes). */
export const APPLIER_STEPS = ['applier.nodes.get', 'applier.log.readRange', 'applier.replica.write', 'applier.nodes.advanceCursor'] as const;
export const PLANNER_STEPS = [
  'planner.log.readHead',
  'planner.clock.writeClock',
  'planner.convergence.putPlanHeader',
  'planner.tasks.send',
  'shard.ledger.latest',
  'shard.nodes.scanSegment',
  'shard.queue.send',
  'shard.ledger.commit',
  'shard.nodes.claimPlan',
  'shard.convergence.reportPlanShard',
] as const;
/** The checker shards' port calls a crash rule can name: a crash between any two leaves the tick to a retried task. */
export const CHECKER_STEPS = ['check.nodes.scanSegment', 'check.checks.putPartial', 'check.checks.reportCheckShard', 'check.convergence.recordVerdict', 'check.checks.markMerged'] as const;

/** How an interval's work is cut: S shards, and nodes per Scan segment (so B). */
export interface Cut {
  readonly shards: number;
  readonly nodesPerSegment: number;
}

// ---------------------------------------------------------------------------------------------
// Scenarios and faults

export interface Scenario {
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
  /** How every interval is cut, unless the faults change it. */
  readonly cut: Cut;
  /** Room in a segment's plan record (compressed bytes): small enough, and some nodes spill to claims on their items. */
  readonly ledgerBytes: number;
  /**
   * Settings deployed on the running system (by interval index, from 0): from that interval on the
   * schedule fires every new t and every function runs with the new t and b, as `cdk deploy` leaves
   * them. None by default.
   */
  readonly changes?: ReadonlyMap<number, SettingsChange>;
}

/** A change of t, of b, or both. */
export interface SettingsChange {
  readonly intervalSeconds?: number;
  readonly batchSize?: number;
}

export type PlannerDuplicate = 'sequential' | 'concurrent' | 'late';

/**
 * A second delivery of the same message: after the first, overlapping it, or straggling — a slow
 * copy (a Lambda past its visibility timeout) whose steps land while the group moves on.
 */
export type DuplicateDelivery = 'sequential' | 'concurrent' | 'straggler';

export interface Faults {
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
  /** Intervals whose shard tasks (planner and checker) are each delivered twice: after the first, or alongside it. */
  readonly shardDuplicates: ReadonlyMap<number, 'sequential' | 'concurrent'>;
  /** Intervals whose last planner shard task arrives after the next tick: it expires, and the plan is never whole. */
  readonly lateShards: ReadonlySet<number>;
  /** Intervals cut differently from the scenario's cut: S and B change between intervals. */
  readonly cuts: ReadonlyMap<number, Cut>;
}

/** A run without faults. */
export const NO_FAULTS: Faults = {
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
  shardDuplicates: new Map(),
  lateShards: new Set(),
  cuts: new Map(),
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

/** The producers' back-off, without the wait. */
export const noSleep = async (): Promise<void> => {};

// ---------------------------------------------------------------------------------------------
// The model

/** What a run leaves behind for the convergence properties. */
export interface RunReport {
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
  /** Per interval (from 0): the number k the planner gave its tick. */
  readonly intervals: readonly number[];
  /** Per interval (from 0), and one more for the checker after the last: when its tick was scheduled (ISO). */
  readonly tickTimes: readonly string[];
  /** Per interval (from 0): t in force. */
  readonly intervalSeconds: readonly number[];
  /** The largest b any interval ran with. */
  readonly maxBatchSize: number;
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
export interface FaultTally {
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
  delayedNodes: number;
  shardDuplicates: number;
  lateShards: number;
  cutChanges: number;
  spilledNodes: number;
  incompletePlans: number;
  shardRetries: number;
  settingsChanges: number;
}

/** The tally's counts of faults the model injects (the others count how the system reacted). */
export const INJECTED_FAULTS = [
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
  'shardDuplicates',
  'lateShards',
  'cutChanges',
] as const satisfies readonly (keyof FaultTally)[];

export function emptyTally(): FaultTally {
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
    delayedNodes: 0,
    shardDuplicates: 0,
    lateShards: 0,
    cutChanges: 0,
    spilledNodes: 0,
    incompletePlans: 0,
    shardRetries: 0,
    settingsChanges: 0,
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

/**
 * One run of the pipeline under a scenario and a fault schedule: `run()` plays the intervals until
 * every node holds the final head, checking the invariants as it goes, and reports what happened;
 * `tally` counts, across runs, the faults that struck and how the system reacted.
 */
export class PipelineModel {
  readonly ports: ReturnType<typeof createInMemoryPorts>;
  private readonly faultPlan: FaultPlan;
  private readonly random: () => number;
  private readonly nodeIds: readonly string[];
  /** t and b as deployed now (the scenario's, then its changes). */
  private intervalSeconds: number;
  private batchSize: number;
  /** The largest share each node has had under any t so far: the in-flight cap's bound. */
  private readonly maxShares: number[];
  /** Per interval index: the k its planner gave it, its tick's time, its t. */
  private readonly intervals: number[] = [];
  private readonly tickTimes: Date[] = [];
  private readonly intervalSecondsAt: number[] = [];
  private maxBatchSize: number;
  private readonly plannerStart: StartPlanDeps;
  private readonly plannerShard: PlanShardDeps;
  private readonly checkerStart: StartCheckDeps;
  private readonly checkerShard: CheckShardDeps;
  /** The cut of the interval being planned: the coordinators' sharding rules read it. */
  private cut: Cut;
  /** Planner shard tasks SQS will deliver again (their run crashed), and those held past the next tick. */
  private pendingShardTasks: PlanTask[] = [];
  private lateShardTasks: PlanTask[] = [];
  /** Each node's newest plan entry as the segments' records hold it (read incrementally). */
  private readonly plans = new Map<string, { entry: { nodeId: string; plannedSeq: number; progressSeq?: number; progressInterval?: number }; interval: number }>();
  private plansRead = 0;
  /** Intervals seen closed as plan-incomplete. */
  private readonly incomplete = new Set<number>();
  private readonly applierDeps: ApplyMicrobatchDeps;
  private readonly stragglerDeps: ApplyMicrobatchDeps;

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
    this.intervalSeconds = scenario.intervalSeconds;
    this.batchSize = scenario.batchSize;
    this.maxBatchSize = scenario.batchSize;
    this.random = seededRandom(scenario.seed);
    this.faultPlan = new FaultPlan(faults.crashes);
    this.nodeIds = scenario.rates.map((_, index) => `n-${index}`);
    this.maxShares = scenario.rates.map((rate) => sharePerInterval(rate, scenario.intervalSeconds));
    this.ports = { ...createInMemoryPorts(), ledger: new InMemoryPlanLedger(scenario.ledgerBytes) };
    this.cut = scenario.cut;
    const { log, nodes, replica, convergence, queue, ledger, checks, planTasks, checkTasks } = this.ports;
    const plan = this.faultPlan;
    // The cut of the interval being planned: S shards, B from nodes per segment (sharding.ts).
    const sharding = { nodesPerShard: 1, nodesPerSegment: 1, shards: 1 };
    Object.defineProperties(sharding, {
      shards: { get: () => this.cut.shards },
      nodesPerSegment: { get: () => this.cut.nodesPerSegment },
    });
    // t and b as each function reads them when it runs: the deployed settings of the moment.
    const t = { intervalSeconds: { get: () => this.intervalSeconds, enumerable: true } };
    const tb = { ...t, batchSize: { get: () => this.batchSize, enumerable: true } };
    this.plannerStart = Object.defineProperties(
      {
        stream: STREAM,
        intervalSeconds: 0,
        retentionDays,
        sharding,
        log: plan.wrap('planner.log', log),
        nodes: plan.wrap('planner.nodes', nodes),
        convergence: plan.wrap('planner.convergence', convergence),
        clock: plan.wrap('planner.clock', this.ports.clock),
        tasks: plan.wrap('planner.tasks', planTasks),
      },
      t,
    );
    this.plannerShard = {
      rules: Object.defineProperties({ stream: STREAM, intervalSeconds: 0, batchSize: 0, maxInFlightIntervals, staleAfterIntervals }, tb),
      retentionDays,
      nodes: plan.wrap('shard.nodes', nodes),
      ledger: plan.wrap('shard.ledger', ledger),
      queue: plan.wrap('shard.queue', queue),
      convergence: plan.wrap('shard.convergence', convergence),
    };
    const b = { batchSize: { get: () => this.batchSize, enumerable: true } };
    this.applierDeps = Object.defineProperties(
      {
        stream: STREAM,
        batchSize: 0,
        log: plan.wrap('applier.log', log),
        nodes: plan.wrap('applier.nodes', nodes),
        replica: plan.wrap('applier.replica', replica),
        now: () => this.now,
      },
      b,
    );
    const turns = (): number => Math.floor(this.random() * STRAGGLER_TURNS);
    this.stragglerDeps = Object.defineProperties(
      {
        ...this.applierDeps,
        log: withLatency(this.applierDeps.log, turns),
        nodes: withLatency(this.applierDeps.nodes, turns),
        replica: withLatency(this.applierDeps.replica, turns),
      },
      b,
    );
    this.checkerStart = Object.defineProperties(
      { stream: STREAM, intervalSeconds: 0, openIntervals: OPEN_INTERVALS, sharding, log, nodes, convergence, checks, clock: this.ports.clock, tasks: checkTasks },
      t,
    );
    this.checkerShard = Object.defineProperties(
      {
        stream: STREAM,
        intervalSeconds: 0,
        log,
        nodes: plan.wrap('check.nodes', nodes),
        convergence: plan.wrap('check.convergence', convergence),
        checks: plan.wrap('check.checks', checks),
      },
      t,
    );
  }

  async run(): Promise<RunReport> {
    const { scenario, faults } = this;
    for (const [index, nodeId] of this.nodeIds.entries()) {
      await registerNode({ nodeId, rate: scenario.rates[index] ?? 1 }, { nodes: this.ports.nodes });
    }
    // The shares of the settings the run ends with: every change comes before the faults stop.
    const finalSeconds = [...(scenario.changes ?? new Map<number, SettingsChange>()).entries()]
      .sort(([a], [b]) => a - b)
      .reduce((seconds, [, change]) => change.intervalSeconds ?? seconds, scenario.intervalSeconds);
    const shares = scenario.rates.map((rate) => sharePerInterval(rate, finalSeconds));
    const ingestMax = Math.max(...scenario.ingest.map((requests) => requests.flat().length));
    // Continuous ingest runs until every fast node's bound is known (at the window) and watched.
    let ingestEnd = scenario.continuous ? Number.POSITIVE_INFINITY : scenario.ingest.length;
    let settledAt = scenario.continuous ? Number.POSITIVE_INFINITY : Math.max(this.firstPlanAfterIngest(ingestEnd), faults.window);
    let giveUpAfter = Number.POSITIVE_INFINITY;
    const history: number[][] = [];
    let lags: number[] = [];
    let deficits: number[] = [];

    for (let i = 0; ; i += 1) {
      const faulty = i < faults.window;
      if (!faulty) this.faultPlan.disarm();
      this.deploy(i);
      // The schedule fires every t: a new t spaces the ticks from the first one after the deployment.
      this.now = i === 0 ? START : new Date((this.tickTimes[i - 1]?.getTime() ?? START.getTime()) + this.intervalSeconds * 1000);
      this.tickTimes[i] = this.now;
      this.intervalSecondsAt[i] = this.intervalSeconds;
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
      const checkedFirst = i > 0 && scenario.checkerFirst ? await this.check(this.now) : undefined;
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
      const k = await this.plan(i, duplicate, delivery);
      // A pause lands between the plan and its deliveries: the tokens just sent are acknowledged unapplied.
      await this.pauseAndResume(i);
      // Both coordinators number the tick alike, whichever ran first: the checker applies a change of t as the planner stores it.
      const checked = checkedFirst ?? (i > 0 ? await this.check(this.now) : k);
      invariant(checked === k, () => `the checker numbered tick ${i} ${checked}, the planner ${k}`);
      await this.deliver(delivery);
      if (duplicate === 'late') {
        await this.ingest(requests.slice(onTime));
        const again = await this.plan(i, 'late', delivery);
        invariant(again === k, () => `a late run of tick ${i} numbered it ${again}, the first ${k}`);
        await this.deliver(delivery);
      }
      const applied = (await this.allNodes()).map((node) => node.appliedSeq);
      history.push(applied);

      const head = (await this.ports.log.readHead(STREAM)).head;
      if (i >= settledAt && applied.every((seq) => seq === head)) {
        // The next interval's checker finds the plans converged.
        const next = new Date(this.now.getTime() + this.intervalSeconds * 1000);
        this.tickTimes[i + 1] = next;
        await this.check(next);
        return {
          nodeIds: this.nodeIds,
          head,
          settledAt,
          lags,
          shares,
          reachedHead: this.nodeIds.map((_, node) => history.findIndex((row) => row[node] === head)),
          lastInterval: i,
          intervals: this.intervals,
          tickTimes: this.tickTimes.map((time) => time.toISOString()),
          intervalSeconds: this.intervalSecondsAt,
          maxBatchSize: this.maxBatchSize,
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

  /** The settings deployed from interval i on, if the scenario changes them there. */
  private deploy(i: number): void {
    const change = this.scenario.changes?.get(i);
    if (change === undefined) return;
    this.tally.settingsChanges += 1;
    this.intervalSeconds = change.intervalSeconds ?? this.intervalSeconds;
    this.batchSize = change.batchSize ?? this.batchSize;
    this.maxBatchSize = Math.max(this.maxBatchSize, this.batchSize);
    this.scenario.rates.forEach((rate, node) => {
      this.maxShares[node] = Math.max(this.maxShares[node] ?? 0, sharePerInterval(rate, this.intervalSeconds));
    });
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
   * The planner runs the schedule delivers for k, and their shard tasks. A crashed coordinator run
   * is retried the way Lambda retries an asynchronous invocation, and a crashed shard task is
   * delivered again the way SQS redelivers it: later, after the applier has consumed what the failed
   * run sent. The tasks of the previous interval held past the next tick arrive after this tick's header: stale.
   */
  private async plan(i: number, duplicate: PlannerDuplicate | undefined, delivery: DeliveryFaults): Promise<number> {
    const cut = (delivery.faulty ? this.faults.cuts.get(i) : undefined) ?? this.scenario.cut;
    if (cut.shards !== this.cut.shards || cut.nodesPerSegment !== this.cut.nodesPerSegment) this.tally.cutChanges += 1;
    this.cut = cut;
    if (duplicate !== undefined) this.tally.plannerDuplicates += 1;
    const refuse = delivery.faulty && this.faults.refusedSends.has(i);
    const late = delivery.faulty && this.faults.lateShards.has(i);
    const shardDuplicate = delivery.faulty ? this.faults.shardDuplicates.get(i) : undefined;
    const numbered = new Set<number>();
    let failed = await this.planRuns(i, duplicate === 'concurrent' ? 2 : 1, { refuse, late, shardDuplicate }, numbered);
    if (duplicate === 'sequential') failed += await this.planRuns(i, 1, { shardDuplicate }, numbered);
    for (let round = 1; failed > 0 || this.pendingShardTasks.length > 0; round += 1) {
      invariant(round < MAX_PLANNER_ROUNDS, () => `the planner of tick ${i} kept failing`);
      await this.deliver(delivery);
      failed = await this.planRuns(i, failed, {}, numbered);
    }
    // Every run of the tick numbered it alike, above every earlier tick: one more, or at a change of
    // t one more than the last, or the old intervals the new t spans (as the old t would count them).
    const [k, ...others] = numbered;
    invariant(k !== undefined && others.length === 0, () => `the runs of tick ${i} numbered it ${[...numbered].join(', ')}`);
    const previous = this.intervals[i - 1];
    if (previous !== undefined) {
      const before = this.intervalSecondsAt[i - 1] ?? this.intervalSeconds;
      const most = before === this.intervalSeconds ? 1 : Math.max(1, Math.ceil(this.intervalSeconds / before));
      invariant(k > previous && k - previous <= most, () => `tick ${i} is interval ${k}, the one before it ${previous} (t ${before} → ${this.intervalSeconds})`);
    }
    this.intervals[i] = k;
    const [header] = await this.ports.convergence.recent(STREAM, k, 1);
    invariant(header?.interval === k, () => `interval ${k} has no plan header after its planner ran`);
    this.plannedHeads[i] = header.head;
    // The tasks an earlier interval's run held back arrive now, after this tick's header: stale.
    await this.deliverLateShards(k);
    return k;
  }

  /**
   * Starts `runs` coordinator runs for k at once, then delivers every shard task SQS holds (fresh
   * ones and crashed ones again), shards in parallel as Lambda runs them.
   * @returns how many coordinator runs failed; crashed shard tasks wait in `pendingShardTasks`.
   */
  private async planRuns(
    i: number,
    runs: number,
    faults: { readonly refuse?: boolean; readonly late?: boolean; readonly shardDuplicate?: 'sequential' | 'concurrent' | undefined },
    numbered: Set<number>,
  ): Promise<number> {
    const scheduledTime = this.now;
    const appliedBefore = new Map((await this.allNodes()).map((node) => [node.nodeId, node.appliedSeq]));
    const sentBefore = this.ports.queue.messages.length;
    // SQS refuses about half the tokens of this run (the rest of each call lands).
    this.ports.queue.refuseWhen(
      faults.refuse === true
        ? () => {
            const refused = this.random() < 0.5;
            if (refused) this.tally.refusedTokens += 1;
            return refused;
          }
        : undefined,
    );
    const coordinators = await Promise.allSettled(Array.from({ length: runs }, () => startPlan({ scheduledTime }, this.plannerStart)));
    // A crashed run's calls already in flight still land.
    await settle();
    let failed = 0;
    for (const outcome of coordinators) {
      if (outcome.status === 'fulfilled') {
        invariant(outcome.value.kind === 'planned', () => `tick ${i} was refused as stale: ${JSON.stringify(outcome.value)}`);
        numbered.add(outcome.value.interval);
        continue;
      }
      if (!(outcome.reason instanceof InjectedCrash)) throw outcome.reason;
      this.tally.crashes += 1;
      failed += 1;
    }
    const fresh = this.ports.planTasks.take();
    // The last shard's task waits past the next tick; a duplicate of it sent by another run may not.
    const held = faults.late === true ? fresh.filter((task) => task.shard === task.shards - 1).slice(0, 1) : [];
    this.lateShardTasks.push(...held);
    const tasks = [...this.pendingShardTasks, ...fresh.filter((task) => !held.includes(task))];
    this.pendingShardTasks = [];
    await this.runShardTasks(tasks, faults.shardDuplicate);
    this.ports.queue.refuseWhen(undefined);
    // Every token sent carries work the node had not applied when the round began.
    for (const message of this.ports.queue.messages.slice(sentBefore)) {
      const { nodeId, target } = parseMicrobatch(message.body);
      const applied = appliedBefore.get(nodeId) ?? 0;
      invariant(target > applied, () => `the planner of tick ${i} sent ${message.deduplicationId} to ${nodeId}, which had applied ${applied}`);
    }
    await this.checkNodes();
    return failed;
  }

  /** Runs shard tasks in parallel (each twice with a duplicate delivery); a crashed one waits to be delivered again. */
  private async runShardTasks(tasks: readonly PlanTask[], duplicate: 'sequential' | 'concurrent' | undefined): Promise<void> {
    const runOnce = async (task: PlanTask): Promise<boolean> => {
      try {
        this.count(await planShard(task, this.plannerShard));
        return true;
      } catch (error) {
        if (!(error instanceof InjectedCrash)) throw error;
        this.tally.crashes += 1;
        return false;
      } finally {
        await settle();
      }
    };
    const outcomes = await Promise.all(
      tasks.map(async (task) => {
        if (duplicate === undefined) return runOnce(task);
        this.tally.shardDuplicates += 1;
        const both = duplicate === 'concurrent' ? await Promise.all([runOnce(task), runOnce(task)]) : [await runOnce(task), await runOnce(task)];
        return both.some(Boolean);
      }),
    );
    tasks.forEach((task, index) => {
      if (outcomes[index] === true) return;
      this.tally.shardRetries += 1;
      this.pendingShardTasks.push(task);
    });
  }

  /** The earlier intervals' held shard tasks arrive after tick k wrote its header: each must give up as stale. */
  private async deliverLateShards(k: number): Promise<void> {
    const late = this.lateShardTasks.filter((task) => task.interval < k);
    this.lateShardTasks = this.lateShardTasks.filter((task) => task.interval >= k);
    const stale = this.plannerShard;
    for (const task of late) {
      // A crash on the way is delivered again, as SQS would, until the stale task has reported.
      for (let attempt = 1; ; attempt += 1) {
        invariant(attempt < MAX_PLANNER_ROUNDS, () => `the late shard task of ${task.interval} kept failing`);
        try {
          const result = await planShard(task, stale);
          invariant(result.expired, () => `a shard task of ${task.interval} delivered after the next tick planned anyway`);
          break;
        } catch (error) {
          if (!(error instanceof InjectedCrash)) throw error;
          this.tally.crashes += 1;
        }
      }
      this.tally.lateShards += 1;
    }
  }

  private count(result: PlanShardResult): void {
    this.tally.resends += result.totals.resends;
    this.tally.observations += result.totals.observations;
    this.tally.inFlightCaps += result.skipped['in-flight-cap'];
    this.tally.spilledNodes += result.spilled;
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
    const body = poisoned ? item.message.body.replace(/"v":\d+/, '"v":99') : item.message.body;
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
    for (const record of this.ports.ledger.committed.slice(this.plansRead)) {
      for (const entry of record.entries) {
        const known = this.plans.get(entry.nodeId);
        if (known === undefined || known.interval <= record.interval) this.plans.set(entry.nodeId, { entry, interval: record.interval });
      }
    }
    this.plansRead = this.ports.ledger.committed.length;
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
      // New work is planned only while less than maxInFlightIntervals shares are outstanding, and adds
      // one share (after a change of t, the largest share the node has had: older plans may be of it).
      const share = this.maxShares[this.nodeIds.indexOf(node.nodeId)] ?? sharePerInterval(node.rate, this.intervalSeconds);
      const { plannedSeq } = withPlanHistory(node, this.plans.get(node.nodeId));
      invariant(plannedSeq - node.appliedSeq < (maxInFlightIntervals + 1) * share, () => `${node.nodeId} has ${plannedSeq - node.appliedSeq} updates outstanding, share ${share}`);
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
  private async check(now: Date): Promise<number> {
    const active = (await this.allNodes()).filter((node) => node.status === 'active');
    const { interval } = await startCheck({ now }, this.checkerStart);
    // The tick's shards, in parallel; a crashed one is delivered again (the same interval's shard
    // tasks are duplicated with the planner's), until every shard has reported and one merged.
    let tasks: CheckTask[] = this.ports.checkTasks.take();
    const merged: NonNullable<Awaited<ReturnType<typeof checkShard>>['merged']>[] = [];
    for (let round = 1; tasks.length > 0; round += 1) {
      invariant(round < MAX_PLANNER_ROUNDS, () => `the checker shards of ${interval} kept failing`);
      // The tick's index: the one just planned, or (the checker first) the one about to be.
      const index = this.tickTimes.findIndex((time) => time.getTime() === now.getTime());
      const duplicate = index >= 0 && index < this.faults.window ? this.faults.shardDuplicates.get(index) : undefined;
      const runs = await Promise.all(
        tasks.flatMap((task) => (duplicate === undefined ? [task] : [task, task])).map(async (task) => {
          try {
            const result = await checkShard(task, this.checkerShard);
            if (result.merged !== undefined) merged.push(result.merged);
            return undefined;
          } catch (error) {
            if (!(error instanceof InjectedCrash)) throw error;
            this.tally.crashes += 1;
            return task;
          } finally {
            await settle();
          }
        }),
      );
      tasks = [...new Set(runs.filter((task): task is CheckTask => task !== undefined))];
    }
    for (const verdicts of merged) for (const verdict of [...verdicts.evaluated, verdicts.current]) checkVerdict(verdict, active);

    for (const record of await this.ports.convergence.recent(STREAM, interval, OPEN_INTERVALS)) {
      if (record.interval >= interval) {
        invariant(record.checkedAt === undefined, () => `the checker of ${interval} judged the plan of ${record.interval} before it could land`);
        continue;
      }
      // A plan that is not whole is never judged: it waits for its shards, or is closed as incomplete.
      if (record.expiredReason === 'plan-incomplete') {
        invariant(record.checkedAt === undefined, () => `interval ${record.interval} was judged, then closed as incomplete`);
        if (!this.incomplete.has(record.interval)) this.tally.incompletePlans += 1;
        this.incomplete.add(record.interval);
        continue;
      }
      if (record.shardsReported < record.shards) {
        invariant(record.checkedAt === undefined && !record.converged, () => `interval ${record.interval} was judged with ${record.shardsReported} of ${record.shards} shards planned`);
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
    return interval;
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
 * The interval from which a node whose share exceeds the ingest is consistent again, faults having
 * stopped at F with the node `deficit` behind: F + staleAfterIntervals + ceil(deficit / (share −
 * ingest)) + 1. Infinite for a node whose share does not exceed the ingest.
 */
export function recoveryBound(faultsStopAt: number, deficit: number, share: number, ingest: number): number {
  if (share <= ingest) return Number.POSITIVE_INFINITY;
  return faultsStopAt + staleAfterIntervals + Math.ceil(deficit / (share - ingest)) + 1;
}
