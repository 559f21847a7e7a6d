/**
 * The advisor's model of one interval's ticks (DESIGN §5, §7): the planner and the checker are each a
 * coordinator and S shards over B Scan segments (shared/domain/sharding.ts). Per interval: the
 * invocations and seconds of each, the DynamoDB units they read and write, and the requests on the
 * two standard task queues. Pure: no I/O, no clock.
 */
import { FUNCTIONS } from '#infra/definitions.ts';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { shardingFor, type ShardingRules } from '#shared/domain/sharding.ts';

/** The cut of a stack that sets none: the settings' defaults (one shard per 50,000 nodes, 2,000 nodes a segment). */
export const DEFAULT_SHARDING: ShardingRules = {
  nodesPerShard: DEFAULT_SETTINGS.nodesPerShard,
  nodesPerSegment: DEFAULT_SETTINGS.nodesPerSegment,
  shards: DEFAULT_SETTINGS.shards,
};

/**
 * Planner and checker time, per node, from `npm run bench:planner` / `bench:checker` (every call
 * 10 ms, the SDK's CPU included; bench/results.json): a planner shard of 48,630 nodes took 4.0 s in
 * steady state (one token a node, 0.083 ms a node with its segments' calls) and 9.4 s catching up
 * (1–5 tokens, 0.19 ms); a checker shard of ~49,000 nodes 0.86 s (0.018 ms). The figures below,
 * 0.115 and 0.027 ms, lie between the planner's two and above the checker's: a fleet is rarely all
 * steady or all catching up, and the advisor should not promise a shard less time than it takes.
 *
 * The fixed tenth of a second (the head, the header, a cold-ish start) is now paid by every
 * invocation: the coordinator (head, headers, DescribeTable, ceil(S / 10) task sends) and each shard
 * (its start, the header Query, its report; the checker's last shard also merges). A planner shard
 * plans its segments one after another, and each costs two more round trips of the benches' 10 ms:
 * the segment's plan record Query and PutItem (plan-shard.ts). The checker's shards read no record.
 */
const PLANNER_COORDINATOR_SECONDS = 0.1;
const PLANNER_SHARD_SECONDS = { fixed: 0.1, perSegment: 0.02, perNode: 0.000_115 };
const CHECKER_COORDINATOR_SECONDS = 0.1;
const CHECKER_SHARD_SECONDS = { fixed: 0.1, perNode: 0.000_027 };

/**
 * A segment's plan record (plan-ledger.ts): a few hundred bytes of key, totals and expiry, and the
 * gzip'd entries at ~15–40 bytes a node (12- to 64-character ids); the advisor takes the high end.
 */
const PLAN_RECORD_BYTES = { fixed: 300, perNode: 40 };
/** A checker shard's partial tally: counts and the first reportTopN of each list, ~3 KB at any fleet size. */
const PARTIAL_TALLY_BYTES = 3_000;
/**
 * A verdict as the Convergence item holds it: `bench:checker`'s verdictBytes (3,506 at 10,000 and
 * 100,000 nodes, 60 open intervals). Written on the judged interval's record, and again as the
 * tick's merged outcome on its check header.
 */
const VERDICT_BYTES = 3_506;
/**
 * Intervals judged per tick: in steady state each interval is judged once, converged one interval
 * later. (A node that never converges keeps every open interval open, and each is judged again at
 * every tick; the advisor does not count those extra verdict writes.)
 */
const VERDICTS_PER_TICK = 1;
/** The task queues' event sources long-poll (20 s waits) even when empty: one empty receive per 20 s, as for the microbatch queue. */
const LONG_POLL_SECONDS = 20;
/** SendMessageBatch takes at most 10 tasks. */
const TASKS_PER_CALL = 10;

const gb = (memoryMB: number): number => memoryMB / 1024;
export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));
/** Strongly consistent: every read the ticks make is. */
export const readUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 4096));

/** The cut of the fleet and what it means for the busiest planner shard. */
export interface TickSharding {
  readonly shards: number;
  readonly segments: number;
  readonly nodesPerShard: number;
  /** Nodes in the fullest segment, ceil(N / B): a parallel Scan spreads the keys' hashes evenly. */
  readonly nodesPerSegment: number;
  /** One segment's plan record: 300 + 40 × nodesPerSegment bytes. */
  readonly planRecordBytes: number;
  /** The busiest shard takes ceil(B / S) segments (segmentsOfShard), N / B nodes each. */
  readonly busiestShardSegments: number;
  readonly busiestShardNodes: number;
  /** Its planner time: what must fit in half the interval and in the shard's timeout. */
  readonly busiestPlannerShardSeconds: number;
}

/** One interval's ticks: two coordinators, 2 × S shards. */
export interface TickWork {
  readonly sharding: TickSharding;
  readonly invocations: { readonly planner: number; readonly plannerShards: number; readonly checker: number; readonly checkerShards: number };
  /** Seconds per interval, all shards of a kind together. */
  readonly seconds: { readonly planner: number; readonly plannerShards: number; readonly checker: number; readonly checkerShards: number };
  readonly gbSeconds: number;
  readonly readUnits: { readonly planner: number; readonly checker: number };
  readonly writeUnits: { readonly planner: number; readonly checker: number };
  /** Both task queues together (standard queues: one task per shard, one task per invocation). */
  readonly taskQueues: { readonly sendMessageBatch: number; readonly receiveMessage: number; readonly deleteMessageBatch: number };
}

/** The planner's and the checker's work in one interval of `t` seconds over a fleet of `fleet` active nodes. */
export function tickWork(input: { readonly fleet: number; readonly nodeItemBytes: number; readonly rules: ShardingRules; readonly intervalSeconds: number }): TickWork {
  const { fleet, nodeItemBytes, rules } = input;
  const { shards: S, segments: B } = shardingFor(fleet, rules);
  const nodesPerSegment = Math.ceil(fleet / B);
  const planRecordBytes = PLAN_RECORD_BYTES.fixed + PLAN_RECORD_BYTES.perNode * nodesPerSegment;
  const busiestShardSegments = Math.ceil(B / S);
  const busiestShardNodes = (busiestShardSegments * fleet) / B;
  const segmentScanUnits = readUnits(nodesPerSegment * nodeItemBytes);

  const seconds = {
    planner: PLANNER_COORDINATOR_SECONDS,
    plannerShards: S * PLANNER_SHARD_SECONDS.fixed + B * PLANNER_SHARD_SECONDS.perSegment + fleet * PLANNER_SHARD_SECONDS.perNode,
    checker: CHECKER_COORDINATOR_SECONDS,
    checkerShards: S * CHECKER_SHARD_SECONDS.fixed + fleet * CHECKER_SHARD_SECONDS.perNode,
  };
  const plannerShardMemory = gb(FUNCTIONS.plannerShard.memoryMB);
  const checkerShardMemory = gb(FUNCTIONS.checkerShard.memoryMB);
  const taskSends = Math.ceil(S / TASKS_PER_CALL);
  const idleReceives = Math.ceil(input.intervalSeconds / LONG_POLL_SECONDS);
  return {
    sharding: {
      shards: S,
      segments: B,
      nodesPerShard: rules.nodesPerShard,
      nodesPerSegment,
      planRecordBytes,
      busiestShardSegments,
      busiestShardNodes,
      busiestPlannerShardSeconds: PLANNER_SHARD_SECONDS.fixed + busiestShardSegments * PLANNER_SHARD_SECONDS.perSegment + busiestShardNodes * PLANNER_SHARD_SECONDS.perNode,
    },
    invocations: { planner: 1, plannerShards: S, checker: 1, checkerShards: S },
    seconds,
    gbSeconds:
      seconds.planner * gb(FUNCTIONS.planner.memoryMB) +
      seconds.plannerShards * plannerShardMemory +
      seconds.checker * gb(FUNCTIONS.checker.memoryMB) +
      seconds.checkerShards * checkerShardMemory,
    readUnits: {
      // The coordinator: the head item and the newest plan header. Each shard: the newest plan
      // header; each segment: its newest plan record (one Query) and its consistent Scan.
      planner: 2 + S + B * (readUnits(planRecordBytes) + segmentScanUnits),
      // The coordinator: the head, the watermark and the open records, the newest plan header, the
      // check header of k − 2. Each shard: the latest tick, its segments' Scans, one chain link a
      // node; the last shard: the check header and every partial tally.
      checker: 5 + S + B * segmentScanUnits + fleet + 1 + readUnits(S * PARTIAL_TALLY_BYTES),
    },
    writeUnits: {
      // The plan header, one report per shard, one record per segment (no claim per node).
      planner: 1 + S + B * writeUnits(planRecordBytes),
      // The check header and the watermark; per shard its partial tally and its report; the last
      // shard's verdicts and the merged outcome.
      checker: 2 + S * (writeUnits(PARTIAL_TALLY_BYTES) + 1) + VERDICTS_PER_TICK * writeUnits(VERDICT_BYTES) + writeUnits(VERDICT_BYTES),
    },
    taskQueues: {
      sendMessageBatch: 2 * taskSends,
      receiveMessage: 2 * (S + idleReceives),
      deleteMessageBatch: 2 * S,
    },
  };
}
