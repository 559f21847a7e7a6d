import { describe, expect, it } from 'vitest';
import { checkLimits, requireBatchSize, requireInterval, type LimitInputs, type LimitKey } from '#local/microbatch/advise/limits.ts';
import { analyzePoint, DEFAULT_WORKLOAD, type AdviseInput } from '#local/microbatch/advise/model.ts';
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
  plannerSeconds: 0.1,
};

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

  it("keeps one node's serial work, an invocation and the planner within their time", () => {
    expect(broken({ maxNodeBusySeconds: 61 })).toEqual(['messageGroupSerial']);
    expect(broken({ worstInvocationSeconds: 61 })).toEqual(['applierTimeout']);
    expect(broken({ plannerSeconds: 30 })).toEqual([]);
    expect(broken({ plannerSeconds: 31 })).toEqual(['plannerHalfInterval']);
  });
});

describe('limits through the model', () => {
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

  it('gives the planner of 300,000 nodes 120 s but not 60 s', () => {
    // 0.1 s + 300,000 × 0.115 ms = 34.6 s: over 30 s, under 60 s.
    const fleet = input(Array.from({ length: 300_000 }, (_, index) => ({ nodeId: `n-${index}`, rate: 1 })), { ingestRate: 0 });
    expect(analyzePoint(fleet, 60, 100).limits.find((limit) => limit.key === 'plannerHalfInterval')?.ok).toBe(false);
    expect(analyzePoint(fleet, 120, 100).limits.find((limit) => limit.key === 'plannerHalfInterval')?.ok).toBe(true);
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
