/**
 * The advisor's model of one (t, b): per node, whether it converges and how stale it runs; per
 * interval, the requests each service sees; per month, what they cost. Pure: no I/O, no clock.
 *
 * What "lag" means here (steady state, ingest at its average rate):
 * - a node converges only when its share `ceil(r·t)` exceeds the ingest per interval `ingest·t`
 *   (the planner's recovery bound, DESIGN §5); one whose share is smaller falls further behind
 *   every interval, for ever (the checker names it), and one whose share only equals it keeps pace
 *   while nothing puts it behind but never works off a backlog (an outage, a burst): neither converges;
 * - **staleness** of a converging node: an update written just after a plan waits a whole interval
 *   for the next plan, then for its node's tokens to be applied one after another. So at worst
 *   `t + apply_i` seconds (on average `t/2 + apply_i`), where apply_i is the node's work per interval;
 *   the checker judges interval k converged one interval later (lag 1 interval);
 * - **catch-up** after a backlog B (an outage, a bulk load): the node gains `share − ingest·t` a
 *   interval, so it is back in `ceil(B / (share − ingest·t))` intervals (DESIGN §5's recovery bound,
 *   without the stall detection that only lost tokens need).
 */
import { FUNCTIONS } from '#infra/definitions.ts';
import { microbatchCount, sharePerInterval } from '#shared/domain/formula.ts';
import type { ShardingRules } from '#shared/domain/sharding.ts';
import { checkLimits, MESSAGES_PER_CALL, type AdviseTarget, type LimitCheck } from './limits.ts';
import { unitPrice, type PriceKey, type PriceTable } from './prices.ts';
import { readUnits, tickWork, writeUnits, type TickSharding } from './ticks.ts';

/** A node as the advisor sees it. */
export interface NodeRate {
  readonly nodeId: string;
  readonly rate: number;
}

/**
 * What one update and one node cost to move; the defaults are assumptions, each overridable from
 * the command line with what CloudWatch shows for the real stack.
 */
export interface Workload {
  /** Size of a Log entry and of a Replica item (key, value, seq, chain): ≤ 1 KB is one WCU. */
  readonly updateBytes: number;
  /** Size of a Nodes item (rate, status, cursors, plan): one read or write unit. */
  readonly nodeItemBytes: number;
  /** Applier time per update: its seq-guarded replica write, 16 in parallel (~8 ms each ⇒ ~0.5 ms). */
  readonly applyMsPerUpdate: number;
  /** Applier time per microbatch besides the updates: read the node, query the Log, move the cursor (~3 calls of ~10 ms). */
  readonly applyMsPerMicrobatch: number;
}

export const DEFAULT_WORKLOAD: Workload = { updateBytes: 256, nodeItemBytes: 400, applyMsPerUpdate: 0.5, applyMsPerMicrobatch: 30 };

/**
 * Products such as 0.07 · 100 land a hair off the whole number they stand for (7.000000000000001);
 * a share compared with one must not win or lose by that hair. The slack is formula.ts's.
 */
const ROUNDING_SLACK = 1e-12;

/** ingest·t: the updates appended per interval on average, a whole number when it is one. */
export function ingestPerInterval(ingestRate: number, intervalSeconds: number): number {
  const exact = ingestRate * intervalSeconds;
  const nearest = Math.round(exact);
  return Math.abs(exact - nearest) <= ROUNDING_SLACK * Math.max(1, Math.abs(exact)) ? nearest : exact;
}

/**
 * Whether a node converges while ingest continues: its share must exceed the ingest per interval,
 * as the planner's recovery bound has it. At equality it keeps pace but never gains on a backlog.
 */
export function convergesUnderIngest(share: number, ingestPerInterval: number): boolean {
  return share > ingestPerInterval;
}

/**
 * Intervals to work off `backlog` updates when the node gains `share − ingest` a interval
 * (DESIGN §5's recovery bound, without the stall detection that only lost tokens need); 0 without
 * a backlog, null when it never does (the share does not exceed the ingest).
 */
export function catchUpIntervals(backlog: number, share: number, ingestPerInterval: number): number | null {
  if (backlog <= 0) return 0;
  return convergesUnderIngest(share, ingestPerInterval) ? Math.ceil(backlog / (share - ingestPerInterval)) : null;
}

/** The applier's deployment settings the limits depend on. */
export interface ApplierSettings {
  readonly timeoutSeconds: number;
  /** The SQS event source's maximum concurrency (`applierMaxConcurrency`). */
  readonly maxConcurrency: number;
}

export interface AdviseInput {
  readonly nodes: readonly NodeRate[];
  /** Average updates per second appended to the log. */
  readonly ingestRate: number;
  /** The staleness every converging node must stay within; null: no target, any staleness will do. */
  readonly targetLagSeconds: number | null;
  /** The backlog whose catch-up time is reported (updates). */
  readonly backlogUpdates: number;
  /** Set when the backlog is the default, this many seconds of ingest (`--backlog` absent). */
  readonly backlogSeconds?: number;
  readonly target: AdviseTarget;
  readonly workload: Workload;
  readonly applier: ApplierSettings;
  /** How the planner and the checker cut the fleet into shards and segments (the stack's settings). */
  readonly sharding: ShardingRules;
  readonly prices: PriceTable;
}

/** Lambda's own time per applier invocation (batch handling, metrics flush). */
const APPLIER_INVOKE_OVERHEAD_SECONDS = 0.005;
/** The event source's pollers long-poll the queue (20 s waits) even when it is empty: at least one empty receive per 20 s. */
const LONG_POLL_SECONDS = 20;
/** An ingested update is written in a transaction: twice its write units. */
const TRANSACTION_FACTOR = 2;
/** AWS bills a month as 730 hours. */
export const SECONDS_PER_MONTH = 730 * 3600;

export interface NodeAnalysis {
  readonly nodeId: string;
  readonly rate: number;
  /** ceil(r·t): the most the node takes in one interval. */
  readonly share: number;
  /** share > ingest·t: it works a backlog off while ingest continues (see {@link convergesUnderIngest}). */
  readonly canConverge: boolean;
  /** Updates it applies per interval in steady state: ingest·t, or its whole share when it cannot keep up. */
  readonly updatesPerInterval: number;
  readonly tokensPerInterval: number;
  /** Seconds its tokens take per interval, one after another. */
  readonly applySeconds: number;
  /** Worst and mean staleness of a converging node; null for one that never converges. */
  readonly lagSeconds: number | null;
  readonly meanLagSeconds: number | null;
  /** Intervals and seconds to work off the backlog; null when it never does. */
  readonly catchUpIntervals: number | null;
  readonly catchUpSeconds: number | null;
}

/** Requests and work per interval, by service. */
export interface IntervalRequests {
  readonly tokens: number;
  /** The planner's and the checker's cut of the fleet this interval. */
  readonly sharding: TickSharding;
  /** The microbatch queue (FIFO). */
  readonly sqs: { readonly sendMessageBatch: number; readonly receiveMessage: number; readonly deleteMessageBatch: number };
  /** The plan and check task queues together (standard). */
  readonly taskQueues: { readonly sendMessageBatch: number; readonly receiveMessage: number; readonly deleteMessageBatch: number };
  readonly lambda: {
    /** The coordinators: one planner and one checker invocation per interval. */
    readonly plannerInvocations: number;
    readonly checkerInvocations: number;
    /** S of each. */
    readonly plannerShardInvocations: number;
    readonly checkerShardInvocations: number;
    readonly applierInvocations: number;
    readonly plannerSeconds: number;
    readonly checkerSeconds: number;
    /** All shards of a kind together. */
    readonly plannerShardSeconds: number;
    readonly checkerShardSeconds: number;
    readonly applierSeconds: number;
    readonly gbSeconds: number;
  };
  readonly dynamodb: {
    /** Read units: the appliers' node reads and Log queries, the planner's and checker's headers, records, scans and partials. */
    readonly readUnits: { readonly applier: number; readonly planner: number; readonly checker: number };
    /** Write units: replica writes (one per update), cursor moves (one per microbatch), plan records and reports, partials and verdicts, and the ingest itself. */
    readonly writeUnits: { readonly replica: number; readonly cursor: number; readonly planner: number; readonly checker: number; readonly ingest: number };
  };
  readonly schedulerInvocations: number;
}

export interface MonthlyCost {
  readonly intervalsPerMonth: number;
  readonly usd: Readonly<Record<PriceKey, number>>;
  readonly totalUsd: number;
}

export interface PointAnalysis {
  readonly intervalSeconds: number;
  readonly batchSize: number;
  /** ingest·t, the share each node must exceed (see {@link ingestPerInterval}). */
  readonly ingestPerInterval: number;
  readonly nodes: readonly NodeAnalysis[];
  /** Nodes that never converge at this t: their share does not exceed the ingest per interval. */
  readonly neverConverging: readonly string[];
  /** Worst staleness over the converging nodes (null when none converge). */
  readonly maxLagSeconds: number | null;
  readonly meetsTargetLag: boolean;
  readonly requests: IntervalRequests;
  readonly monthly: MonthlyCost;
  readonly limits: readonly LimitCheck[];
  readonly feasible: boolean;
}

function nodeAnalysis(node: NodeRate, input: AdviseInput, t: number, b: number): NodeAnalysis {
  const share = sharePerInterval(node.rate, t);
  const ingest = ingestPerInterval(input.ingestRate, t);
  const canConverge = convergesUnderIngest(share, ingest);
  // A node that does not converge applies its whole share: all of it is backlog (or, at equality, new).
  const updatesPerInterval = canConverge ? Math.ceil(ingest) : share;
  const tokensPerInterval = microbatchCount(updatesPerInterval, b);
  const { applyMsPerMicrobatch, applyMsPerUpdate } = input.workload;
  const applySeconds = (tokensPerInterval * applyMsPerMicrobatch + updatesPerInterval * applyMsPerUpdate) / 1000;
  const catchUp = catchUpIntervals(input.backlogUpdates, share, ingest);
  const fullShareSeconds = (microbatchCount(share, b) * applyMsPerMicrobatch + share * applyMsPerUpdate) / 1000;
  return {
    nodeId: node.nodeId,
    rate: node.rate,
    share,
    canConverge,
    updatesPerInterval,
    tokensPerInterval,
    applySeconds,
    lagSeconds: canConverge ? t + applySeconds : null,
    meanLagSeconds: canConverge ? t / 2 + applySeconds : null,
    catchUpIntervals: catchUp,
    catchUpSeconds: catchUp === null ? null : catchUp === 0 ? 0 : catchUp * t + fullShareSeconds,
  };
}

/** Log read units of one node's tokens: each query reads its range, rounded up to 4 KB. */
function logReadUnits(updates: number, b: number, updateBytes: number): number {
  const full = Math.floor(updates / b);
  const rest = updates - full * b;
  return full * readUnits(b * updateBytes) + (rest > 0 ? readUnits(rest * updateBytes) : 0);
}

function intervalRequests(nodes: readonly NodeAnalysis[], input: AdviseInput, t: number, b: number): IntervalRequests {
  const { workload } = input;
  const tokens = nodes.reduce((sum, node) => sum + node.tokensPerInterval, 0);
  const updates = nodes.reduce((sum, node) => sum + node.updatesPerInterval, 0);
  const calls = Math.ceil(tokens / MESSAGES_PER_CALL);
  // The planner shards send the tokens 10 a call within each shard: up to S − 1 calls more than this.
  const applierInvocations = calls;
  const applierSeconds = nodes.reduce((sum, node) => sum + node.applySeconds, 0) + applierInvocations * APPLIER_INVOKE_OVERHEAD_SECONDS;
  const ticks = tickWork({ fleet: nodes.length, nodeItemBytes: workload.nodeItemBytes, rules: input.sharding, intervalSeconds: t });
  const nodeRead = readUnits(workload.nodeItemBytes);
  const nodeWrite = writeUnits(workload.nodeItemBytes);
  return {
    tokens,
    sharding: ticks.sharding,
    sqs: { sendMessageBatch: calls, receiveMessage: calls + Math.ceil(t / LONG_POLL_SECONDS), deleteMessageBatch: applierInvocations },
    taskQueues: ticks.taskQueues,
    lambda: {
      plannerInvocations: ticks.invocations.planner,
      checkerInvocations: ticks.invocations.checker,
      plannerShardInvocations: ticks.invocations.plannerShards,
      checkerShardInvocations: ticks.invocations.checkerShards,
      applierInvocations,
      plannerSeconds: ticks.seconds.planner,
      checkerSeconds: ticks.seconds.checker,
      plannerShardSeconds: ticks.seconds.plannerShards,
      checkerShardSeconds: ticks.seconds.checkerShards,
      applierSeconds,
      gbSeconds: ticks.gbSeconds + applierSeconds * (FUNCTIONS.applier.memoryMB / 1024),
    },
    dynamodb: {
      readUnits: {
        applier: tokens * nodeRead + nodes.reduce((sum, node) => sum + logReadUnits(node.updatesPerInterval, b, workload.updateBytes), 0),
        planner: ticks.readUnits.planner,
        checker: ticks.readUnits.checker,
      },
      writeUnits: {
        replica: updates * writeUnits(workload.updateBytes),
        cursor: tokens * nodeWrite,
        planner: ticks.writeUnits.planner,
        checker: ticks.writeUnits.checker,
        ingest: input.ingestRate * t * TRANSACTION_FACTOR * writeUnits(workload.updateBytes),
      },
    },
    schedulerInvocations: 2,
  };
}

function monthlyCost(requests: IntervalRequests, prices: PriceTable, t: number): MonthlyCost {
  const intervalsPerMonth = SECONDS_PER_MONTH / t;
  const { sqs, lambda, dynamodb } = requests;
  const perInterval: Record<PriceKey, number> = {
    sqsFifoRequest: sqs.sendMessageBatch + sqs.receiveMessage + sqs.deleteMessageBatch,
    sqsStandardRequest: requests.taskQueues.sendMessageBatch + requests.taskQueues.receiveMessage + requests.taskQueues.deleteMessageBatch,
    lambdaRequest: lambda.plannerInvocations + lambda.plannerShardInvocations + lambda.checkerInvocations + lambda.checkerShardInvocations + lambda.applierInvocations,
    lambdaArmGbSecond: lambda.gbSeconds,
    dynamodbWriteRequestUnit: Object.values(dynamodb.writeUnits).reduce((sum, units) => sum + units, 0),
    dynamodbReadRequestUnit: Object.values(dynamodb.readUnits).reduce((sum, units) => sum + units, 0),
    schedulerInvocation: requests.schedulerInvocations,
  };
  const usd = Object.fromEntries(
    (Object.keys(perInterval) as PriceKey[]).map((key) => [key, perInterval[key] * intervalsPerMonth * unitPrice(prices, key)]),
  ) as Record<PriceKey, number>;
  return { intervalsPerMonth, usd, totalUsd: Object.values(usd).reduce((sum, value) => sum + value, 0) };
}

/** The whole analysis of one (t, b). */
export function analyzePoint(input: AdviseInput, intervalSeconds: number, batchSize: number): PointAnalysis {
  const t = intervalSeconds;
  const b = batchSize;
  const planned = input.nodes.map((node) => nodeAnalysis(node, input, t, b));
  const requests = intervalRequests(planned, input, t, b);
  const { workload } = input;
  const max = (values: readonly number[]): number => values.reduce((top, value) => Math.max(top, value), 0);
  // When the fleet's work outgrows the applier's concurrency, tokens also wait for a free applier.
  const usableConcurrency = Math.max(1, Math.min(input.applier.maxConcurrency, planned.length));
  const queueWait = Math.max(0, requests.lambda.applierSeconds / usableConcurrency - max(planned.map((node) => node.applySeconds)));
  const nodes = planned.map((node) =>
    node.lagSeconds === null || node.meanLagSeconds === null ? node : { ...node, lagSeconds: node.lagSeconds + queueWait, meanLagSeconds: node.meanLagSeconds + queueWait },
  );
  const lags = nodes.flatMap((node) => (node.lagSeconds === null ? [] : [node.lagSeconds]));
  const maxLagSeconds = lags.length === 0 ? null : max(lags);
  const limits = checkLimits({
    target: input.target,
    intervalSeconds: t,
    batchSize: b,
    nodes: nodes.length,
    maxNodeTokens: max(nodes.map((node) => node.tokensPerInterval)),
    sendCalls: requests.sqs.sendMessageBatch,
    maxNodeWcuPerSecond: max(nodes.map((node) => (node.share / t) * writeUnits(workload.updateBytes))),
    logRcuPerSecond: nodes.reduce((sum, node) => sum + logReadUnits(node.updatesPerInterval, b, workload.updateBytes), 0) / t,
    applierBusySeconds: requests.lambda.applierSeconds,
    maxNodeBusySeconds: max(nodes.map((node) => node.applySeconds)),
    applierConcurrency: input.applier.maxConcurrency,
    worstInvocationSeconds: (MESSAGES_PER_CALL * (workload.applyMsPerMicrobatch + b * workload.applyMsPerUpdate)) / 1000 + APPLIER_INVOKE_OVERHEAD_SECONDS,
    applierTimeoutSeconds: input.applier.timeoutSeconds,
    planner: {
      shards: requests.sharding.shards,
      nodesPerShard: requests.sharding.nodesPerShard,
      busiestShardNodes: requests.sharding.busiestShardNodes,
      busiestShardSegments: requests.sharding.busiestShardSegments,
      busiestShardSeconds: requests.sharding.busiestPlannerShardSeconds,
      shardTimeoutSeconds: FUNCTIONS.plannerShard.timeoutSeconds,
    },
  });
  return {
    intervalSeconds: t,
    batchSize: b,
    ingestPerInterval: ingestPerInterval(input.ingestRate, t),
    nodes,
    neverConverging: nodes.filter((node) => !node.canConverge).map((node) => node.nodeId),
    maxLagSeconds,
    meetsTargetLag: maxLagSeconds !== null && (input.targetLagSeconds === null || maxLagSeconds <= input.targetLagSeconds),
    requests,
    monthly: monthlyCost(requests, input.prices, t),
    limits,
    feasible: limits.every((limit) => limit.ok),
  };
}
