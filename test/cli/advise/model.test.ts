import { describe, expect, it } from 'vitest';
import { analyzePoint } from '#cli/advise/model.ts';
import { pricesWith } from '#cli/advise/prices.ts';
import { threeNodes } from './fixture.ts';


describe('analyzePoint at t = 60 s, b = 100 (the hand-computed case)', () => {
  // Workload defaults: 256-byte updates, 400-byte Nodes items, 0.5 ms per update, 30 ms per microbatch.
  //
  // shares ceil(r·t) = 120, 300, 600; ingest per interval 4 × 60 = 240
  //   → n-1 (120 < 240) can never converge; n-2 and n-3 can.
  // updates applied per interval: n-1 its whole share 120, n-2 and n-3 the ingest 240 → 600
  // tokens ceil(u / b): 2 + 3 + 3 = 8
  // SQS FIFO: SendMessageBatch ceil(8/10) = 1; applier invocations (≤ 10 messages) 1; DeleteMessageBatch 1;
  //      ReceiveMessage 1 + idle long polls ceil(60 / 20) = 3 → 4. Requests: 6 per interval.
  // apply time: n-1 2×30 ms + 120×0.5 ms = 0.12 s; n-2, n-3 3×30 + 240×0.5 = 0.21 s
  // staleness of n-2, n-3 (worst): t + apply = 60.21 s (mean t/2 + apply = 30.21 s); n-1: never
  // catch-up from 2,400: n-2 gains 300 − 240 = 60 a interval → 40 intervals, 40×60 s + a full share's
  //      apply (3×30 + 300×0.5 = 0.24 s) = 2,400.24 s; n-3 gains 360 → ceil(2400/360) = 7 intervals,
  //      420 s + (6×30 + 600×0.5 = 0.48 s) = 420.48 s
  // The cut: 3 nodes → S = ceil(3 / 50,000) = 1 shard, B = 1 segment of 3 nodes; its plan record
  //      300 + 40 × 3 = 420 bytes (1 write unit, 1 read unit); its Scan 3 × 400 B = 1 read unit.
  // SQS standard (plan and check task queues, each): 1 SendMessageBatch + 1 task receive + 3 idle
  //      long polls + 1 delete = 6 → 12 per interval.
  // DynamoDB read units: applier node reads 8 × 1; Log queries (4 KB units, strongly consistent):
  //      n-1 one of 100×256 B = 7 + one of 20×256 B = 2 → 9; n-2, n-3 two of 7 + one of 40×256 B = 3 → 17
  //      → 8 + 9 + 17 + 17 = 51
  //      planner: coordinator head 1 + newest header 1; shard newest header 1; segment record 1 + Scan 1 → 5
  //      checker: coordinator head 1 + watermark and open records 2 + newest plan header 1 + check
  //      header of k − 2 1 = 5; shard latest tick 1 + Scan 1 + 3 chain links; merge: check header 1 +
  //      1 partial of 3,000 B 1 → 12
  //      → 68 RRU per interval
  // write units: replica 600 × 1, cursor 8, ingest 240 × 2 = 480;
  //      planner: header 1 + 1 shard report + 1 record of 420 B = 3 (no claims: the old design's 3 are gone)
  //      checker: check header 1 + watermark 1 + partial of 3,000 B 3 + report 1 + a verdict of
  //      3,506 B 4 + the merged outcome 4 = 14
  //      → 1,105 WRU per interval
  // Lambda: coordinators planner 0.1 s + checker 0.1 s at 256 MB → 0.05 GB-s;
  //      planner shard 0.1 + 1 segment × 0.02 + 3 × 0.000115 = 0.120345 s,
  //      checker shard 0.1 + 3 × 0.000027 = 0.100081 s, at 1,769 MB → 0.220426 × 1769/1024 = 0.38079453 GB-s;
  //      applier 0.12 + 0.21 + 0.21 + 1 × 0.005 = 0.545 s at 512 MB → 0.2725 GB-s
  //      → 0.70329453 GB-s; invocations 1 + 1 + 1 + 1 + 1 = 5
  // per month: 2,628,000 s / 60 = 43,800 intervals
  //      SQS FIFO 6 × 43,800 × $0.50/M = $0.1314; SQS standard 12 × 43,800 × $0.40/M = $0.21024;
  //      Lambda requests 5 × 43,800 × $0.20/M = $0.0438; GB-s 0.70329453 × 43,800 × $0.0000133334 = $0.410726;
  //      WRU 1,105 × 43,800 × $0.625/M = $30.249375; RRU 68 × 43,800 × $0.125/M = $0.3723;
  //      Scheduler 2 × 43,800 × $1/M = $0.0876
  //      total $31.505441
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

  it('cuts the fleet into one shard over one segment, and counts the task queues and the shards', () => {
    expect(point.requests.sharding).toMatchObject({ shards: 1, segments: 1, nodesPerSegment: 3, planRecordBytes: 420, busiestShardSegments: 1, busiestShardNodes: 3 });
    expect(point.requests.sharding.busiestPlannerShardSeconds).toBeCloseTo(0.120345, 10);
    expect(point.requests.taskQueues).toEqual({ sendMessageBatch: 2, receiveMessage: 8, deleteMessageBatch: 2 });
    const { lambda } = point.requests;
    expect([lambda.plannerInvocations, lambda.plannerShardInvocations, lambda.checkerInvocations, lambda.checkerShardInvocations]).toEqual([1, 1, 1, 1]);
    expect(lambda.plannerShardSeconds).toBeCloseTo(0.120345, 10);
    expect(lambda.checkerShardSeconds).toBeCloseTo(0.100081, 10);
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
    expect(point.requests.dynamodb.readUnits).toEqual({ applier: 51, planner: 5, checker: 12 });
    expect(point.requests.dynamodb.writeUnits).toEqual({ replica: 600, cursor: 8, planner: 3, checker: 14, ingest: 480 });
  });

  it('prices a month of it', () => {
    expect(point.requests.lambda.gbSeconds).toBeCloseTo(0.05 + (0.120345 + 0.100081) * (1_769 / 1_024) + 0.2725, 10);
    expect(point.requests.lambda.gbSeconds).toBeCloseTo(0.703295, 6);
    expect(point.monthly.intervalsPerMonth).toBe(43_800);
    expect(point.monthly.usd.sqsFifoRequest).toBeCloseTo(0.1314, 6);
    expect(point.monthly.usd.sqsStandardRequest).toBeCloseTo(0.21024, 6);
    expect(point.monthly.usd.lambdaRequest).toBeCloseTo(0.0438, 6);
    expect(point.monthly.usd.lambdaArmGbSecond).toBeCloseTo(0.410726, 5);
    expect(point.monthly.usd.dynamodbWriteRequestUnit).toBeCloseTo(30.249375, 6);
    expect(point.monthly.usd.dynamodbReadRequestUnit).toBeCloseTo(0.3723, 6);
    expect(point.monthly.usd.schedulerInvocation).toBeCloseTo(0.0876, 6);
    expect(point.monthly.totalUsd).toBeCloseTo(31.505441, 4);
  });

  it('meets every limit', () => {
    expect(point.limits.filter((limit) => !limit.ok)).toEqual([]);
    expect(point.feasible).toBe(true);
  });

  it('follows an overridden price', () => {
    const dearer = analyzePoint(threeNodes({ prices: pricesWith(['dynamodbWriteRequestUnit=1.25']) }), 60, 100);
    // Twice the write price doubles the $30.249375 of write units.
    expect(dearer.monthly.totalUsd - point.monthly.totalUsd).toBeCloseTo(30.249375, 6);
  });
});

describe('analyzePoint, edge cases', () => {
  it('does not call a node converging when its share only equals the ingest per interval: it never works off a backlog', () => {
    // Prepare: r = 4 = ingest, so share ceil(4 · 60) = 240 = the 240 ingested per interval. The
    // planner's recovery bound needs share > ingest·t; at equality the node keeps pace only while
    // nothing puts it behind, and the backlog of 2,400 never shrinks.

    // Act
    const point = analyzePoint(threeNodes({ nodes: [{ nodeId: 'even', rate: 4 }] }), 60, 100);

    // Assess
    expect(point.ingestPerInterval).toBe(240);
    expect(point.nodes[0]).toMatchObject({ share: 240, canConverge: false, updatesPerInterval: 240, lagSeconds: null, catchUpIntervals: null });
    expect(point.neverConverging).toEqual(['even']);
    expect(point.maxLagSeconds).toBeNull();
    expect(point.meetsTargetLag).toBe(false);
  });

  it('calls a node converging one update above the ingest per interval', () => {
    // Prepare: the fleet at t = 60: shares 30, 60 and 3,000 against 60 ingested per interval;
    // a fourth node of 61/60 /s takes ceil(61) = 61, one more than the ingest.

    // Act
    const point = analyzePoint(
      threeNodes({ nodes: [0.5, 1, 50, 61 / 60].map((rate, index) => ({ nodeId: `node-${index + 1}`, rate })), ingestRate: 1, backlogUpdates: 600 }),
      60,
      5,
    );

    // Assess
    expect(point.nodes.map((node) => [node.share, node.canConverge])).toEqual([
      [30, false],
      [60, false],
      [3000, true],
      [61, true],
    ]);
    expect(point.neverConverging).toEqual(['node-1', 'node-2']);
    // node-4 gains 61 − 60 = 1 a interval: 600 intervals for the 600-update backlog.
    expect(point.nodes[3]?.catchUpIntervals).toBe(600);
  });

  it.each([
    // 0.29 · 100 = 28.999999999999996 in doubles: a share of 29 must not beat it by that hair.
    [0.29, 100, 29, false, 29],
    [0.29, 100, 30, true, 29],
    // 0.07 · 100 = 7.000000000000001: a node of share 10 applies the 7 ingested a interval, not 8.
    [0.07, 100, 10, true, 7],
  ])('compares the share with ingest %d/s · %d s as the whole number it stands for (share %d: converges %s, applies %d)', (ingestRate, t, share, converges, updates) => {
    // Prepare: a node whose rate gives exactly that share.
    const input = threeNodes({ nodes: [{ nodeId: 'n', rate: share / t }], ingestRate });

    // Act
    const point = analyzePoint(input, t, 1);

    // Assess
    expect(point.nodes[0]).toMatchObject({ share, canConverge: converges, updatesPerInterval: updates });
  });

  it('needs no catch-up without a backlog, and sends nothing without ingest', () => {
    const point = analyzePoint(threeNodes({ ingestRate: 0, backlogUpdates: 0 }), 60, 100);
    expect(point.nodes.map((node) => node.catchUpIntervals)).toEqual([0, 0, 0]);
    expect(point.requests.tokens).toBe(0);
    expect(point.requests.sqs.sendMessageBatch).toBe(0);
    // Ticks still run: each interval a planner and a checker coordinator and one shard of each, one idle receive per 20 s on every queue.
    const { lambda } = point.requests;
    expect(lambda.plannerInvocations + lambda.plannerShardInvocations + lambda.checkerInvocations + lambda.checkerShardInvocations).toBe(4);
    expect(point.requests.sqs.receiveMessage).toBe(3);
    expect(point.requests.taskQueues.receiveMessage).toBe(2 * (1 + 3));
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

describe('analyzePoint, a sharded fleet', () => {
  // 100,000 nodes of 1 update/s without ingest (no tokens: only the ticks' own work), t = 60 s.
  // The cut: S = ceil(100,000 / 50,000) = 2 shards; B = the larger power of two of ceil(100,000 / 2,000)
  //   = 50 → 64 and of S = 2 → 64 segments; the fullest segment ceil(100,000 / 64) = 1,563 nodes.
  // A plan record: 300 + 40 × 1,563 = 62,820 bytes → ceil(62,820 / 1,024) = 62 write units and
  //   ceil(62,820 / 4,096) = 16 read units; a segment's Scan 1,563 × 400 = 625,200 bytes → 153 read units.
  // planner reads: 2 (coordinator) + 2 (each shard's header) + 64 × (16 + 153) = 10,820
  // planner writes: 1 (header) + 2 (reports) + 64 × 62 = 3,971 — where one claim per node was 100,000
  // checker reads: 5 (coordinator) + 2 (latest tick) + 64 × 153 (Scans) + 100,000 (chain links) + 1
  //   (check header) + ceil(2 × 3,000 / 4,096) = 2 (partials) = 109,802
  // checker writes: 2 + 2 × (3 + 1) + 4 + 4 = 18
  // the busiest shard: ceil(64 / 2) = 32 segments of 100,000 / 64 nodes = 50,000 nodes,
  //   0.1 + 32 × 0.02 + 50,000 × 0.000115 = 6.49 s; all planner shards 2 × 0.1 + 64 × 0.02 + 11.5 = 12.98 s,
  //   all checker shards 2 × 0.1 + 100,000 × 0.000027 = 2.9 s
  // task queues (each): ceil(2 / 10) = 1 send, 2 task receives + 3 idle polls, 2 deletes
  const nodes = Array.from({ length: 100_000 }, (_, index) => ({ nodeId: `n-${index}`, rate: 1 }));
  const point = analyzePoint(threeNodes({ nodes, ingestRate: 0, backlogUpdates: 0 }), 60, 100);

  it('cuts it into 2 shards over 64 segments', () => {
    expect(point.requests.sharding).toMatchObject({ shards: 2, segments: 64, nodesPerSegment: 1_563, planRecordBytes: 62_820, busiestShardSegments: 32, busiestShardNodes: 50_000 });
    expect(point.requests.sharding.busiestPlannerShardSeconds).toBeCloseTo(6.49, 10);
  });

  it('counts a record per segment instead of a claim per node', () => {
    expect(point.requests.dynamodb.readUnits).toMatchObject({ planner: 10_820, checker: 109_802 });
    expect(point.requests.dynamodb.writeUnits).toMatchObject({ planner: 3_971, checker: 18 });
  });

  it('counts each shard an invocation and a task', () => {
    const { lambda, taskQueues } = point.requests;
    expect([lambda.plannerShardInvocations, lambda.checkerShardInvocations]).toEqual([2, 2]);
    expect(lambda.plannerShardSeconds).toBeCloseTo(12.98, 10);
    expect(lambda.checkerShardSeconds).toBeCloseTo(2.9, 10);
    expect(taskQueues).toEqual({ sendMessageBatch: 2, receiveMessage: 10, deleteMessageBatch: 4 });
  });
});
