import { describe, expect, it } from 'vitest';
import { analyzePoint } from '#local/microbatch/advise/model.ts';
import { pricesWith } from '#local/microbatch/advise/prices.ts';
import { threeNodes } from './fixture.ts';


describe('analyzePoint at t = 60 s, b = 100 (the hand-computed case)', () => {
  // Workload defaults: 256-byte updates, 400-byte Nodes items, 0.5 ms per update, 30 ms per microbatch.
  //
  // shares ceil(r·t) = 120, 300, 600; ingest per interval 4 × 60 = 240
  //   → n-1 (120 < 240) can never converge; n-2 and n-3 can.
  // updates applied per interval: n-1 its whole share 120, n-2 and n-3 the ingest 240 → 600
  // tokens ceil(u / b): 2 + 3 + 3 = 8
  // SQS: SendMessageBatch ceil(8/10) = 1; applier invocations (≤ 10 messages) 1; DeleteMessageBatch 1;
  //      ReceiveMessage 1 + idle long polls ceil(60 / 20) = 3 → 4. Requests: 6 per interval.
  // apply time: n-1 2×30 ms + 120×0.5 ms = 0.12 s; n-2, n-3 3×30 + 240×0.5 = 0.21 s
  // staleness of n-2, n-3 (worst): t + apply = 60.21 s (mean t/2 + apply = 30.21 s); n-1: never
  // catch-up from 2,400: n-2 gains 300 − 240 = 60 a interval → 40 intervals, 40×60 s + a full share's
  //      apply (3×30 + 300×0.5 = 0.24 s) = 2,400.24 s; n-3 gains 360 → ceil(2400/360) = 7 intervals,
  //      420 s + (6×30 + 600×0.5 = 0.48 s) = 420.48 s
  // DynamoDB read units: applier node reads 8 × 1; Log queries (4 KB units, strongly consistent):
  //      n-1 one of 100×256 B = 7 + one of 20×256 B = 2 → 9; n-2, n-3 two of 7 + one of 40×256 B = 3 → 17
  //      → 8 + 9 + 17 + 17 = 51; planner head 1 + scan of 3×400 B = 1 → 2; checker 1 + 1 + 3 links + 2 = 7
  //      → 60 RRU per interval
  // write units: replica 600 × 1, cursor 8, planner header 2 + 3 claims, checker 2, ingest 240 × 2 = 480
  //      → 1,095 WRU per interval
  // Lambda: planner 0.1 + 3 × 0.000115 = 0.100345 s, checker 0.1 + 3 × 0.000027 = 0.100081 s,
  //      applier 0.12 + 0.21 + 0.21 + 1 × 0.005 = 0.545 s; all 512 MB → 0.745426 × 0.5 = 0.372713 GB-s
  // per month: 2,628,000 s / 60 = 43,800 intervals
  //      SQS 6 × 43,800 × $0.50/M = $0.1314; Lambda requests 3 × 43,800 × $0.20/M = $0.02628
  //      GB-s 0.372713 × 43,800 × $0.0000133334 = $0.217665; WRU 1,095 × 43,800 × $0.625/M = $29.975625
  //      RRU 60 × 43,800 × $0.125/M = $0.3285; Scheduler 2 × 43,800 × $1/M = $0.0876
  //      total $30.767070
  const point = analyzePoint(threeNodes(), 60, 100);
  const node = (id: string) => point.nodes.find((candidate) => candidate.nodeId === id);

  it('says which nodes can ever converge: a share below the ingest per interval never does', () => {
    expect(point.nodes.map((candidate) => candidate.share)).toEqual([120, 300, 600]);
    expect(point.nodes.map((candidate) => candidate.canConverge)).toEqual([false, true, true]);
    expect(point.neverConverging).toEqual(['n-1']);
  });

  it('counts the tokens of each node and the SQS calls they take', () => {
    expect(point.nodes.map((candidate) => candidate.updatesPerInterval)).toEqual([120, 240, 240]);
    expect(point.nodes.map((candidate) => candidate.tokensPerInterval)).toEqual([2, 3, 3]);
    expect(point.requests.tokens).toBe(8);
    expect(point.requests.sqs).toEqual({ sendMessageBatch: 1, receiveMessage: 4, deleteMessageBatch: 1 });
    expect(point.requests.lambda.applierInvocations).toBe(1);
  });

  it('gives the staleness of a converging node as t plus its apply time, and none for one that never converges', () => {
    expect(node('n-2')?.applySeconds).toBeCloseTo(0.21, 10);
    expect(node('n-2')?.lagSeconds).toBeCloseTo(60.21, 10);
    expect(node('n-2')?.meanLagSeconds).toBeCloseTo(30.21, 10);
    expect(node('n-1')?.lagSeconds).toBeNull();
    expect(point.maxLagSeconds).toBeCloseTo(60.21, 10);
    expect(point.meetsTargetLag).toBe(true);
  });

  it('gives the catch-up after a backlog as ceil(backlog / (share − ingest·t)) intervals', () => {
    expect(node('n-2')?.catchUpIntervals).toBe(40);
    expect(node('n-2')?.catchUpSeconds).toBeCloseTo(2_400.24, 10);
    expect(node('n-3')?.catchUpIntervals).toBe(7);
    expect(node('n-3')?.catchUpSeconds).toBeCloseTo(420.48, 10);
    expect(node('n-1')?.catchUpIntervals).toBeNull();
  });

  it('counts DynamoDB read and write units per interval', () => {
    expect(point.requests.dynamodb.readUnits).toEqual({ applier: 51, planner: 2, checker: 7 });
    expect(point.requests.dynamodb.writeUnits).toEqual({ replica: 600, cursor: 8, planner: 5, checker: 2, ingest: 480 });
  });

  it('prices a month of it', () => {
    expect(point.requests.lambda.gbSeconds).toBeCloseTo(0.372713, 6);
    expect(point.monthly.intervalsPerMonth).toBe(43_800);
    expect(point.monthly.usd.sqsFifoRequest).toBeCloseTo(0.1314, 6);
    expect(point.monthly.usd.lambdaRequest).toBeCloseTo(0.02628, 6);
    expect(point.monthly.usd.lambdaArmGbSecond).toBeCloseTo(0.217665, 5);
    expect(point.monthly.usd.dynamodbWriteRequestUnit).toBeCloseTo(29.975625, 6);
    expect(point.monthly.usd.dynamodbReadRequestUnit).toBeCloseTo(0.3285, 6);
    expect(point.monthly.usd.schedulerInvocation).toBeCloseTo(0.0876, 6);
    expect(point.monthly.totalUsd).toBeCloseTo(30.76707, 4);
  });

  it('meets every limit', () => {
    expect(point.limits.filter((limit) => !limit.ok)).toEqual([]);
    expect(point.feasible).toBe(true);
  });

  it('follows an overridden price', () => {
    const dearer = analyzePoint(threeNodes({ prices: pricesWith(['dynamodbWriteRequestUnit=1.25']) }), 60, 100);
    // Twice the write price doubles the $29.975625 of write units.
    expect(dearer.monthly.totalUsd - point.monthly.totalUsd).toBeCloseTo(29.975625, 6);
  });
});

describe('analyzePoint, edge cases', () => {
  it('keeps a node whose share exactly equals the ingest per interval: it keeps up but never works off a backlog', () => {
    // r = 4 = ingest: share 240 = 240 per interval.
    const point = analyzePoint(threeNodes({ nodes: [{ nodeId: 'even', rate: 4 }] }), 60, 100);
    expect(point.nodes[0]?.canConverge).toBe(true);
    expect(point.nodes[0]?.catchUpIntervals).toBeNull();
    // Alone, it also waits out its invocation's own 5 ms: 60 + 0.21 + 0.005.
    expect(point.nodes[0]?.lagSeconds).toBeCloseTo(60.215, 10);
  });

  it('needs no catch-up without a backlog, and sends nothing without ingest', () => {
    const point = analyzePoint(threeNodes({ ingestRate: 0, backlogUpdates: 0 }), 60, 100);
    expect(point.nodes.map((node) => node.catchUpIntervals)).toEqual([0, 0, 0]);
    expect(point.requests.tokens).toBe(0);
    expect(point.requests.sqs.sendMessageBatch).toBe(0);
    // Ticks still run: planner and checker each interval, one idle receive per 20 s.
    expect(point.requests.lambda.plannerInvocations + point.requests.lambda.checkerInvocations).toBe(2);
    expect(point.requests.sqs.receiveMessage).toBe(3);
  });

  it('adds the wait for a free applier to the staleness when the fleet outgrows the concurrency', () => {
    // 200 nodes of 25/s under 20/s of ingest, t = 60, b = 100, 2 concurrent appliers:
    // each node applies 1,200 updates in 12 tokens: 12×30 ms + 1,200×0.5 ms = 0.96 s;
    // all: 200 × 0.96 + ceil(2,400/10) = 240 invocations × 0.005 = 193.2 s of work > 2 × 60 s.
    // Waiting: 193.2 / 2 − 0.96 = 95.64 s, so staleness 60 + 0.96 + 95.64 = 156.6 s.
    const nodes = Array.from({ length: 200 }, (_, index) => ({ nodeId: `n-${index}`, rate: 25 }));
    const point = analyzePoint(threeNodes({ nodes, ingestRate: 20, applier: { timeoutSeconds: 60, maxConcurrency: 2 } }), 60, 100);
    expect(point.requests.lambda.applierSeconds).toBeCloseTo(193.2, 6);
    expect(point.maxLagSeconds).toBeCloseTo(156.6, 6);
    expect(point.limits.find((limit) => limit.key === 'applierConcurrency')?.ok).toBe(false);
    expect(point.feasible).toBe(false);
  });
});
