import { describe, expect, it } from 'vitest';
import { checkLimits, LIMIT_REMEDIES, requireBatchSize, requireInterval, type LimitInputs, type LimitKey } from '#cli/advise/limits.ts';
import { analyzePoint, DEFAULT_WORKLOAD, type AdviseInput } from '#cli/advise/model.ts';
import { UsageError } from '#local/errors.ts';
import { threeNodes } from './fixture.ts';

/** A point well inside every limit; each test moves one number to an edge. */
const COMFORTABLE: LimitInputs = {
  target: 'cloud',
  intervalSeconds: 60,
  batchSize: 100,
  nodes: 3,
  maxNodeTokens: 3,
  sendCalls: 1,
  maxNodeWcuPerSecond: 10,
  logRcuPerSecond: 1,
  applierBusySeconds: 1,
  maxNodeBusySeconds: 0.5,
  applierConcurrency: 10,
  worstInvocationSeconds: 1,
  applierTimeoutSeconds: 60,
  planner: { shards: 1, nodesPerShard: 50_000, busiestShardNodes: 3, busiestShardSegments: 1, busiestShardSeconds: 0.1, shardTimeoutSeconds: 120 },
};

/** COMFORTABLE with the busiest planner shard taking `seconds` of an interval of `t`. */
function plannerShard(seconds: number, t = 60): Partial<LimitInputs> {
  return { intervalSeconds: t, planner: { ...COMFORTABLE.planner, busiestShardSeconds: seconds } };
}

function broken(changes: Partial<LimitInputs>): readonly LimitKey[] {
  return checkLimits({ ...COMFORTABLE, ...changes })
    .filter((limit) => !limit.ok)
    .map((limit) => limit.key);
}

/** The shared fixture with `nodes`, light ingest, a loose target and no backlog. */
function input(nodes: AdviseInput['nodes'], changes: Partial<AdviseInput> = {}): AdviseInput {
  return threeNodes({ nodes, ingestRate: 1, targetLagSeconds: 600, backlogUpdates: 0, ...changes });
}

describe('checkLimits', () => {
  it('passes a comfortable point', () => {
    expect(broken({})).toEqual([]);
  });

  it('wants whole minutes of at least 60 s in the cloud, any second locally', () => {
    expect(broken({ intervalSeconds: 60 })).toEqual([]);
    expect(broken({ intervalSeconds: 90 })).toEqual(['schedulerMinimum']);
    expect(broken({ intervalSeconds: 30 })).toContain('schedulerMinimum');
    expect(broken({ target: 'local', intervalSeconds: 30 })).toEqual([]);
  });

  it('takes b from 1 to 10,000', () => {
    expect(broken({ batchSize: 10_000 })).toEqual([]);
    expect(broken({ batchSize: 10_001 })).toEqual(['batchSizeRange']);
    expect(broken({ batchSize: 0 })).toEqual(['batchSizeRange']);
  });

  it('holds one message group to 3,000 messages per second over half the interval', () => {
    // 90,000 tokens in 30 s = 3,000/s: at the limit; one more breaks it.
    expect(broken({ maxNodeTokens: 90_000 })).toEqual([]);
    expect(broken({ maxNodeTokens: 90_001 })).toEqual(['fifoPerGroup']);
  });

  it('holds the queue to 70,000 SendMessageBatch calls per second', () => {
    expect(broken({ sendCalls: 2_100_000 })).toEqual([]);
    expect(broken({ sendCalls: 2_100_001 })).toEqual(['fifoPerQueue']);
  });

  it('keeps one replica partition below 1,000 WCU/s and the Log below 3,000 RCU/s', () => {
    expect(broken({ maxNodeWcuPerSecond: 999 })).toEqual([]);
    expect(broken({ maxNodeWcuPerSecond: 1_000 })).toEqual(['replicaPartitionWrites']);
    expect(broken({ logRcuPerSecond: 3_000 })).toEqual(['logPartitionReads']);
  });

  it("counts only as many concurrent appliers as there are nodes (one message group each)", () => {
    // 3 nodes: at most 3 × 60 s of work per interval, whatever maxConcurrency says.
    expect(broken({ applierBusySeconds: 180 })).toEqual([]);
    expect(broken({ applierBusySeconds: 181 })).toEqual(['applierConcurrency']);
  });

  it("keeps one node's serial work and an invocation within their time", () => {
    expect(broken({ maxNodeBusySeconds: 61 })).toEqual(['messageGroupSerial']);
    expect(broken({ worstInvocationSeconds: 61 })).toEqual(['applierTimeout']);
  });

  it('gives the busiest planner shard half the interval, but never more than its 120 s timeout', () => {
    expect(broken(plannerShard(30))).toEqual([]);
    expect(broken(plannerShard(31))).toEqual(['plannerHalfInterval']);
    // t = 600: half is 300 s, the timeout 120 s.
    expect(broken(plannerShard(120, 600))).toEqual([]);
    expect(broken(plannerShard(121, 600))).toEqual(['plannerHalfInterval']);
  });

  it('says per shard what the planner limit measured', () => {
    const limit = checkLimits({ ...COMFORTABLE, planner: { shards: 20, nodesPerShard: 50_000, busiestShardNodes: 50_781.25, busiestShardSegments: 26, busiestShardSeconds: 6.46, shardTimeoutSeconds: 120 } }).find(
      (candidate) => candidate.key === 'plannerHalfInterval',
    );
    expect(limit?.detail).toBe(
      "the busiest of 20 planner shards (nodesPerShard 50,000) plans 50,782 nodes in 26 segments in ~6.46 s ≤ 30 s (half the interval, at most the shard's 120 s timeout)",
    );
  });

  it('names nodesPerShard, not a longer t, as the remedy for a planner shard over its time', () => {
    expect(LIMIT_REMEDIES.plannerHalfInterval).toMatch(/^more shards: a smaller nodesPerShard \(--nodes-per-shard here/);
    expect(LIMIT_REMEDIES.plannerHalfInterval).toMatch(/a longer t helps a shard only up to twice its 120 s timeout/);
  });
});

describe('limits through the model', () => {
  const millionNodes = Array.from({ length: 1_000_000 }, (_, index) => ({ nodeId: `n-${index}`, rate: 1 }));

  it('breaks the applier timeout once ten microbatches of b outlast it', () => {
    // 10 ms per update: an invocation of 10 × (30 ms + b × 10 ms) + 5 ms ≤ 60 s ⇔ b ≤ 596.
    const slow = input([{ nodeId: 'n', rate: 10 }], { workload: { ...DEFAULT_WORKLOAD, applyMsPerUpdate: 10 } });
    expect(analyzePoint(slow, 60, 500).limits.find((limit) => limit.key === 'applierTimeout')?.ok).toBe(true);
    expect(analyzePoint(slow, 60, 1_000).limits.find((limit) => limit.key === 'applierTimeout')?.ok).toBe(false);
  });

  it("breaks a node's serial budget when its tokens are too many and too small", () => {
    // r = 900/s, ingest 900/s, t = 60: 54,000 updates. b = 100: 540 × 30 ms + 54,000 × 0.5 ms = 43.2 s ≤ 60;
    // b = 10: 5,400 × 30 ms + 27 s = 189 s > 60.
    const busy = input([{ nodeId: 'n', rate: 900 }], { ingestRate: 900 });
    expect(analyzePoint(busy, 60, 100).limits.find((limit) => limit.key === 'messageGroupSerial')?.ok).toBe(true);
    expect(analyzePoint(busy, 60, 10).limits.find((limit) => limit.key === 'messageGroupSerial')?.ok).toBe(false);
  });

  it('breaks the replica partition for a node of 1,000 updates/s at any t', () => {
    for (const t of [60, 600]) {
      expect(analyzePoint(input([{ nodeId: 'n', rate: 1_000 }]), t, 100).limits.find((limit) => limit.key === 'replicaPartitionWrites')?.ok).toBe(false);
      expect(analyzePoint(input([{ nodeId: 'n', rate: 999 }]), t, 100).limits.find((limit) => limit.key === 'replicaPartitionWrites')?.ok).toBe(true);
    }
  });

  const plannerLimit = (point: ReturnType<typeof analyzePoint>) => point.limits.find((limit) => limit.key === 'plannerHalfInterval');

  it('plans 1,000,000 nodes at t = 60 s in 20 shards, each within half the interval', () => {
    // S = ceil(1,000,000 / 50,000) = 20; B = the larger power of two of ceil(1,000,000 / 2,000) = 500
    // → 512 and of S → 512. The busiest shard has ceil(512 / 20) = 26 segments of 1,000,000 / 512 =
    // 1,953.125 nodes = 50,781.25 nodes: 0.1 + 26 × 0.02 + 50,781.25 × 0.000115 = 6.45984375 s ≤ 30 s.
    const point = analyzePoint(input(millionNodes, { ingestRate: 0 }), 60, 100);
    expect(point.requests.sharding).toMatchObject({ shards: 20, segments: 512, busiestShardSegments: 26, busiestShardNodes: 50_781.25 });
    expect(point.requests.sharding.busiestPlannerShardSeconds).toBeCloseTo(6.459_843_75, 10);
    expect(plannerLimit(point)?.ok).toBe(true);
    expect(point.requests.lambda.plannerShardInvocations).toBe(20);
  });

  it('breaks the planner limit for 1,000,000 nodes in one shard (nodesPerShard 1,000,000), and no longer t mends it', () => {
    // S = 1 over the same 512 segments: 0.1 + 512 × 0.02 + 1,000,000 × 0.000115 = 125.34 s, over
    // half of 60 s and over the shard's 120 s timeout, so over the budget at t = 3,600 s too.
    const alone = input(millionNodes, { ingestRate: 0, sharding: { nodesPerShard: 1_000_000, nodesPerSegment: 2_000, shards: 0 } });
    const point = analyzePoint(alone, 60, 100);
    expect(point.requests.sharding).toMatchObject({ shards: 1, segments: 512, busiestShardNodes: 1_000_000 });
    expect(point.requests.sharding.busiestPlannerShardSeconds).toBeCloseTo(125.34, 10);
    expect(plannerLimit(point)?.ok).toBe(false);
    expect(plannerLimit(analyzePoint(alone, 3_600, 100))?.ok).toBe(false);
  });

  it('gives one shard of 300,000 nodes 120 s but not 60 s; the default cut of 6 shards fits 60 s', () => {
    // One shard (nodesPerShard 300,000) over B = 256 segments (ceil(300,000 / 2,000) = 150 → 256):
    // 0.1 + 256 × 0.02 + 300,000 × 0.000115 = 39.72 s: over 30 s, under 60 s.
    // The default cut: S = 6, the busiest ceil(256 / 6) = 43 segments × 300,000 / 256 = 50,390.625 nodes:
    // 0.1 + 0.86 + 5.794921875 = 6.754921875 s.
    const fleet = Array.from({ length: 300_000 }, (_, index) => ({ nodeId: `n-${index}`, rate: 1 }));
    const alone = input(fleet, { ingestRate: 0, sharding: { nodesPerShard: 300_000, nodesPerSegment: 2_000, shards: 0 } });
    expect(plannerLimit(analyzePoint(alone, 60, 100))?.ok).toBe(false);
    expect(plannerLimit(analyzePoint(alone, 120, 100))?.ok).toBe(true);
    const cut = analyzePoint(input(fleet, { ingestRate: 0 }), 60, 100);
    expect(cut.requests.sharding.shards).toBe(6);
    expect(cut.requests.sharding.busiestPlannerShardSeconds).toBeCloseTo(6.754_921_875, 10);
    expect(plannerLimit(cut)?.ok).toBe(true);
  });
});

describe('requireInterval and requireBatchSize', () => {
  it('refuses t below 60 s or not whole minutes for a stack, and allows it locally', () => {
    expect(() => requireInterval(30, 'cloud')).toThrow(UsageError);
    expect(() => requireInterval(30, 'cloud')).toThrow(/at least 60 s/);
    expect(() => requireInterval(90, 'cloud')).toThrow(/whole minutes/);
    expect(requireInterval(120, 'cloud')).toBe(120);
    expect(requireInterval(30, 'local')).toBe(30);
  });

  it('refuses b outside 1–10,000', () => {
    expect(() => requireBatchSize(0)).toThrow(UsageError);
    expect(() => requireBatchSize(10_001)).toThrow(/1–10000/);
    expect(requireBatchSize(250)).toBe(250);
  });
});
