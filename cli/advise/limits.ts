/**
 * The service limits that bound (t, b), each with where it comes from, and the check of one point
 * against them. The model (model.ts) computes the numbers; this module only compares them.
 */
import { FUNCTIONS } from '#infra/definitions.ts';
import { plural } from '#local/counts.ts';
import { UsageError } from '#local/errors.ts';

/** EventBridge Scheduler's `rate()` has a one-minute resolution: t is whole minutes, at least 60 s, in the cloud (DESIGN §10, validateSettings). */
export const SCHEDULER_MINIMUM_SECONDS = 60;

/** b as `validateSettings` accepts it (shared/domain/config.ts): a token carries no updates, only a range, so the bound is the setting's. */
export const MAX_BATCH_SIZE = 10_000;

/** SendMessageBatch, and the FIFO event source's batch: at most 10 messages (SQS message quotas; DESIGN §10). */
export const MESSAGES_PER_CALL = 10;

/**
 * SQS FIFO, high throughput mode (the microbatch queue sets `FifoThroughputLimit: perMessageGroupId`,
 * infra/definitions.ts): messages are hashed by message group to partitions, and each partition
 * takes 300 API calls per second per action — 3,000 messages per second in batches of 10. One node
 * is one message group, so one node's tokens go to one partition. The queue as a whole takes up to
 * 70,000 calls per second per action in us-east-1 (us-west-2 and eu-west-1 too; fewer elsewhere).
 * Source: Amazon SQS Developer Guide, "Amazon SQS message quotas" (FIFO queues, high throughput
 * mode) and "Partitions and data distribution for high throughput for SQS FIFO queues".
 */
export const FIFO_MESSAGES_PER_SECOND_PER_GROUP = 3_000;
export const FIFO_CALLS_PER_SECOND_PER_QUEUE = 70_000;

/** One DynamoDB partition serves at most 1,000 WCU and 3,000 RCU per second (DESIGN §10). One node's replica is one partition key; the Log is one (`stream`). */
export const WCU_PER_PARTITION = 1_000;
export const RCU_PER_PARTITION = 3_000;

/**
 * Each planner shard must finish well inside its interval: half of it, the budget `bench:planner` is
 * measured against (and the send window of the FIFO limits). The shard's timeout bounds it too, so
 * past t = 2 × timeout a longer interval buys a shard no more time: a fleet that outgrows its
 * shards needs more of them (a smaller nodesPerShard), not a longer t.
 */
export const PLANNER_SHARE_OF_INTERVAL = 0.5;

/** Where the deployment runs: the cloud needs whole minutes for t; the local runtime does not. */
export type AdviseTarget = 'cloud' | 'local';

/** The numbers of one (t, b) that the limits are checked against; model.ts computes them. */
export interface LimitInputs {
  readonly target: AdviseTarget;
  readonly intervalSeconds: number;
  readonly batchSize: number;
  readonly nodes: number;
  /** Each node's tokens per interval (steady state), and the most of any node. */
  readonly maxNodeTokens: number;
  readonly sendCalls: number;
  /** Highest replica write units per second of one node (at its full share, while catching up). */
  readonly maxNodeWcuPerSecond: number;
  /** Log read units per second of every applier together: the Log is one partition key. */
  readonly logRcuPerSecond: number;
  /** Seconds of applier work per interval, all nodes; and the most of one node (its group is serial). */
  readonly applierBusySeconds: number;
  readonly maxNodeBusySeconds: number;
  readonly applierConcurrency: number;
  /** One invocation: 10 records of b updates, one after another. */
  readonly worstInvocationSeconds: number;
  readonly applierTimeoutSeconds: number;
  /** The planner's cut (S shards of nodesPerShard nodes) and its busiest shard. */
  readonly planner: {
    readonly shards: number;
    readonly nodesPerShard: number;
    readonly busiestShardNodes: number;
    readonly busiestShardSegments: number;
    readonly busiestShardSeconds: number;
    readonly shardTimeoutSeconds: number;
  };
}

export type LimitKey =
  | 'schedulerMinimum'
  | 'batchSizeRange'
  | 'fifoPerGroup'
  | 'fifoPerQueue'
  | 'replicaPartitionWrites'
  | 'logPartitionReads'
  | 'applierConcurrency'
  | 'messageGroupSerial'
  | 'applierTimeout'
  | 'plannerHalfInterval';

/** What to change when a limit rules out (t, b) altogether, for the recommendation's text. */
export const LIMIT_REMEDIES: Readonly<Record<LimitKey, string>> = {
  schedulerMinimum: 'use whole minutes of at least 60 s (or --local for a local run)',
  batchSizeRange: 'keep b within 1–10,000',
  fifoPerGroup: 'a larger b sends fewer tokens per node',
  fifoPerQueue: 'a larger b or a longer t sends fewer calls per second',
  replicaPartitionWrites: 'no t or b helps: lower that node’s rate below 1,000 updates/s (one partition per node)',
  logPartitionReads: 'a larger b reads the Log in fewer, fuller 4 KB units; beyond that, fewer nodes per stream',
  applierConcurrency: 'raise the applier’s maximum concurrency (context applierMaxConcurrency, --applier-concurrency here) or a larger b',
  messageGroupSerial: 'a larger b (fewer microbatches per node) or a longer t',
  applierTimeout: 'a smaller b, or a longer applier timeout (applierTimeoutSeconds)',
  plannerHalfInterval: `more shards: a smaller nodesPerShard (--nodes-per-shard here, context nodesPerShard), or a fixed --shards; a longer t helps a shard only up to twice its ${FUNCTIONS.plannerShard.timeoutSeconds} s timeout`,
};

export interface LimitCheck {
  readonly key: LimitKey;
  readonly ok: boolean;
  /** The rule, with this point's numbers: "1 node's 3,000 tokens in 30 s = 100 msg/s ≤ 3,000". */
  readonly detail: string;
}

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const n = (value: number): string => NUMBER.format(value);

/** Every limit for one point; a point is feasible when all are ok. */
export function checkLimits(point: LimitInputs): readonly LimitCheck[] {
  const t = point.intervalSeconds;
  const sendWindow = t * PLANNER_SHARE_OF_INTERVAL;
  const groupRate = point.maxNodeTokens / sendWindow;
  const queueRate = point.sendCalls / sendWindow;
  const usableConcurrency = Math.max(1, Math.min(point.applierConcurrency, point.nodes));
  const { planner } = point;
  const shardBudget = Math.min(sendWindow, planner.shardTimeoutSeconds);
  const wholeMinutes = t >= SCHEDULER_MINIMUM_SECONDS && t % SCHEDULER_MINIMUM_SECONDS === 0;
  return [
    point.target === 'cloud'
      ? { key: 'schedulerMinimum', ok: wholeMinutes, detail: `t = ${n(t)} s: EventBridge Scheduler needs whole minutes, at least ${SCHEDULER_MINIMUM_SECONDS} s` }
      : { key: 'schedulerMinimum', ok: t >= 1, detail: `t = ${n(t)} s: the local runtime's timer takes any whole second` },
    {
      key: 'batchSizeRange',
      ok: Number.isInteger(point.batchSize) && point.batchSize >= 1 && point.batchSize <= MAX_BATCH_SIZE,
      detail: `b = ${n(point.batchSize)}: a whole number 1–${n(MAX_BATCH_SIZE)} (the batchSize setting)`,
    },
    {
      key: 'fifoPerGroup',
      ok: groupRate <= FIFO_MESSAGES_PER_SECOND_PER_GROUP,
      detail: `busiest node: ${n(point.maxNodeTokens)} tokens sent within ${n(sendWindow)} s = ${n(groupRate)} msg/s ≤ ${n(FIFO_MESSAGES_PER_SECOND_PER_GROUP)} per message group`,
    },
    {
      key: 'fifoPerQueue',
      ok: queueRate <= FIFO_CALLS_PER_SECOND_PER_QUEUE,
      detail: `${n(point.sendCalls)} SendMessageBatch calls within ${n(sendWindow)} s = ${n(queueRate)} calls/s ≤ ${n(FIFO_CALLS_PER_SECOND_PER_QUEUE)} per queue (high throughput, us-east-1)`,
    },
    {
      key: 'replicaPartitionWrites',
      ok: point.maxNodeWcuPerSecond < WCU_PER_PARTITION,
      detail: `busiest node writes ${n(point.maxNodeWcuPerSecond)} WCU/s to its replica < ${n(WCU_PER_PARTITION)} per partition`,
    },
    {
      key: 'logPartitionReads',
      ok: point.logRcuPerSecond < RCU_PER_PARTITION,
      detail: `appliers read ${n(point.logRcuPerSecond)} RCU/s from the Log's one partition key < ${n(RCU_PER_PARTITION)}`,
    },
    {
      key: 'applierConcurrency',
      ok: point.applierBusySeconds <= usableConcurrency * t,
      detail: `${n(point.applierBusySeconds)} s of applier work per interval ≤ ${n(usableConcurrency)} concurrent × ${n(t)} s (maxConcurrency ${n(point.applierConcurrency)}, at most one per node)`,
    },
    {
      key: 'messageGroupSerial',
      ok: point.maxNodeBusySeconds <= t,
      detail: `busiest node needs ${n(point.maxNodeBusySeconds)} s per interval ≤ t (a node's tokens apply one at a time)`,
    },
    {
      key: 'applierTimeout',
      ok: point.worstInvocationSeconds <= point.applierTimeoutSeconds,
      detail: `${MESSAGES_PER_CALL} microbatches of b in one invocation take ${n(point.worstInvocationSeconds)} s ≤ the applier's ${n(point.applierTimeoutSeconds)} s timeout`,
    },
    {
      key: 'plannerHalfInterval',
      ok: planner.busiestShardSeconds <= shardBudget,
      detail: `the busiest of ${plural(planner.shards, 'planner shard')} (nodesPerShard ${n(planner.nodesPerShard)}) plans ${plural(Math.ceil(planner.busiestShardNodes), 'node')} in ${plural(planner.busiestShardSegments, 'segment')} in ~${n(planner.busiestShardSeconds)} s ≤ ${n(shardBudget)} s (half the interval, at most the shard's ${n(planner.shardTimeoutSeconds)} s timeout)`,
    },
  ];
}

/** t and b as given on the command line, checked for the target before anything is computed. */
export function requireInterval(intervalSeconds: number, target: AdviseTarget): number {
  if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1) throw new UsageError(`--interval must be a whole number of seconds ≥ 1 (got ${intervalSeconds})`);
  if (target === 'cloud' && (intervalSeconds < SCHEDULER_MINIMUM_SECONDS || intervalSeconds % SCHEDULER_MINIMUM_SECONDS !== 0)) {
    throw new UsageError(
      `--interval ${intervalSeconds}: a deployed stack needs whole minutes, at least ${SCHEDULER_MINIMUM_SECONDS} s (EventBridge Scheduler's resolution); use --local for shorter intervals`,
    );
  }
  return intervalSeconds;
}

export function requireBatchSize(batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new UsageError(`--batch-size must be a whole number 1–${MAX_BATCH_SIZE} (got ${batchSize})`);
  }
  return batchSize;
}
