/**
 * The sharded planner's and checker's records on DynamoDB Local: the conditions and number sets that
 * count each shard once, the plan records' binary entries, and the check tick's header, partials and
 * merge mark — as DynamoDB evaluates them, not as a mock answers.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoCheckStore } from '#shared/adapters/dynamodb/check-store.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoPlanLedger } from '#shared/adapters/dynamodb/plan-ledger.ts';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { FleetTally } from '#shared/domain/convergence.ts';
import type { PlanEntry } from '#shared/domain/segment-plan.ts';
import { NO_PLAN_TOTALS } from '#shared/domain/types.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { localDocumentClient, localDynamoClient, localSqsClient } from '#local/emulators.ts';
import { createResources, type LocalResources } from '#local/resources.ts';

const endpoints = inject('emulators');
const dynamodb = localDynamoClient(endpoints.dynamodb);
const doc = localDocumentClient(endpoints.dynamodb);
const sqs = localSqsClient(endpoints.sqs);
let resources: LocalResources;

const K = 29_447_718;
const AT = '2026-11-27T10:18:00.000Z';

beforeAll(async () => {
  resources = await createResources({ dynamodb, sqs }, { prefix: 'shards' });
});

afterAll(() => {
  dynamodb.destroy();
  doc.destroy();
  sqs.destroy();
});

describe('the plan header on DynamoDB Local', () => {
  it('counts each planner shard once, planned or expired, and sums the totals of the planned ones', async () => {
    // Prepare
    const store = new DynamoConvergenceStore(doc, resources.tables.convergence);
    await store.putPlanHeader({ stream: 'count', interval: K, head: 9, headChain: GENESIS_CHAIN, plannedAt: AT, shards: 3, segments: 4, previousSegments: 2 }, 2_000_000_000);
    const totals = { ...NO_PLAN_TOTALS, nodesPlanned: 5, microbatches: 7, scannedItems: 8 };

    // Act
    const reports = [
      await store.reportPlanShard('count', K, 0, { totals }),
      await store.reportPlanShard('count', K, 0, { totals }),
      await store.reportPlanShard('count', K, 1, { totals }),
      await store.reportPlanShard('count', K, 2, { expired: true }),
      await store.reportPlanShard('count', K, 2, { totals }),
      await store.reportPlanShard('count', K + 1, 0, { totals }),
    ];

    // Assess
    expect(reports).toEqual([true, false, true, true, false, false]);
    const [status] = (await store.statuses('count', K)).records;
    expect(status).toMatchObject({ shards: 3, segments: 4, previousSegments: 2, shardsReported: 2, shardsExpired: 1 });
    expect(await store.latestPlanHeader('count', K + 1)).toMatchObject({ interval: K, nodesPlanned: 10, microbatches: 14, scannedItems: 16 });
  });
});

describe('the plan records on DynamoDB Local', () => {
  it('store a segment’s entries as compressed binary once per interval, and read back the newest record up to an interval', async () => {
    // Prepare
    const ledger = new DynamoPlanLedger(doc, resources.tables.plans);
    const entries: PlanEntry[] = Array.from({ length: 2_000 }, (_, index) => ({ nodeId: `tenant:${index}`, plannedSeq: 1_000 + index, progressSeq: 990 + index, progressInterval: K - 1 }));
    const plan = { stream: 'main', segments: 8, segment: 3, interval: K, plannedAt: AT, entries, totals: { ...NO_PLAN_TOTALS, activeNodes: 2_000 } };

    // Act
    const first = await ledger.commit(plan, 2_000_000_000);
    const second = await ledger.commit({ ...plan, entries: entries.slice(0, 1) }, 2_000_000_000);
    const later = await ledger.commit({ ...plan, interval: K + 2, entries: entries.slice(0, 2) }, 2_000_000_000);

    // Assess
    expect([first, second, later]).toEqual([{ committed: true, spilled: [] }, { committed: false, spilled: [] }, { committed: true, spilled: [] }]);
    expect(await ledger.latest('main', 8, 3, K + 1)).toEqual(plan);
    expect((await ledger.latest('main', 8, 3, K + 5))?.entries).toHaveLength(2);
    expect(await ledger.latest('main', 8, 2, K + 5)).toBeUndefined();
    expect(await ledger.latest('main', 4, 3, K + 5)).toBeUndefined();
  });

  it('spill what does not fit one item, keeping the longest prefix that does', async () => {
    // Prepare: 64-character random ids compress poorly; room for about 4 KB of them.
    const ledger = new DynamoPlanLedger(doc, resources.tables.plans, 4_096);
    const id = (index: number): string => Buffer.from(`${index}:${Math.sin(index)}`).toString('base64url').padEnd(64, 'x').slice(0, 64);
    const entries: PlanEntry[] = Array.from({ length: 400 }, (_, index) => ({ nodeId: id(index), plannedSeq: index }));

    // Act
    const { committed, spilled } = await ledger.commit({ stream: 'spill', segments: 1, segment: 0, interval: K, plannedAt: AT, entries, totals: NO_PLAN_TOTALS }, 2_000_000_000);

    // Assess
    const kept = (await ledger.latest('spill', 1, 0, K))?.entries ?? [];
    expect(committed).toBe(true);
    expect(spilled.length).toBeGreaterThan(0);
    expect([...kept, ...spilled]).toEqual(entries);
  });
});

describe('a check tick on DynamoDB Local', () => {
  it('keeps its first header, counts each shard once, stores one partial per shard and is merged once', async () => {
    // Prepare
    const checks = new DynamoCheckStore(doc, resources.tables.convergence);
    const header = { stream: 'tick', interval: K, checkedAt: AT, shards: 2, segments: 2, heads: [40, 30], averageIngestPerInterval: 1.5, judged: [{ interval: K - 1, head: 30, version: 0 }], newest: { interval: K - 1, converged: false } };
    const tally = new FleetTally(header.heads, { now: new Date(AT), intervalSeconds: 60, averageIngestPerInterval: 1.5, topN: 10 });
    tally.add({ nodeId: 'n-1', rate: 1, status: 'active', appliedSeq: 0, appliedChain: GENESIS_CHAIN, plannedSeq: 0 }, new Map());

    // Act
    const written = await checks.putCheckHeader(header, 2_000_000_000);
    const again = await checks.putCheckHeader({ ...header, heads: [99] }, 2_000_000_000);
    await checks.putPartial('tick', K, 0, tally.state(), 2_000_000_000);
    await checks.putPartial('tick', K, 0, new FleetTally(header.heads, { now: new Date(AT), intervalSeconds: 60, averageIngestPerInterval: 0, topN: 10 }).state(), 2_000_000_000);
    const firstReport = await checks.reportCheckShard('tick', K, 0, false);
    const repeat = await checks.reportCheckShard('tick', K, 0, false);
    const second = await checks.reportCheckShard('tick', K, 1, true);
    const merged = await checks.markMerged('tick', K, { current: tally.verdict(K, 40) });
    const mergedAgain = await checks.markMerged('tick', K, { current: tally.verdict(K, 40) });

    // Assess
    expect(written).toEqual({ written: true, header });
    expect(await checks.latestTick('tick')).toBe(K);
    expect(await checks.latestTick('no-ticks-yet')).toBeUndefined();
    expect(again).toEqual({ written: false, header });
    expect(await checks.partials('tick', K)).toEqual([tally.state()]);
    expect(firstReport).toEqual({ counted: true, progress: { shards: 2, reported: 1, expired: 0, merged: false } });
    expect(repeat).toEqual({ counted: false, progress: { shards: 2, reported: 1, expired: 0, merged: false } });
    expect(second).toEqual({ counted: true, progress: { shards: 2, reported: 1, expired: 1, merged: false } });
    expect([merged, mergedAgain]).toEqual([true, false]);
    expect((await checks.getCheckHeader('tick', K))?.progress).toMatchObject({ merged: true, outcome: { current: { activeNodes: 1, laggingCount: 1 } } });
  });
});

describe('a segment of a parallel Scan on DynamoDB Local', () => {
  it('holds the same nodes interval after interval, and the segments of one count cover the table exactly once', async () => {
    // Prepare
    const nodes = new DynamoNodeRepository(doc, resources.tables.nodes);
    await Promise.all(Array.from({ length: 60 }, (_, index) => registerNode({ nodeId: `seg-${index}`, rate: 1 }, { nodes })));
    const cut = async (segments: number): Promise<string[][]> =>
      Promise.all(
        Array.from({ length: segments }, async (_, segment) => {
          const ids: string[] = [];
          for await (const page of nodes.scanSegment(segment, segments, { includePaused: true })) ids.push(...page.nodes.map((node) => node.nodeId));
          return ids.sort();
        }),
      );

    // Act
    const four = await cut(4);
    await Promise.all(Array.from({ length: 20 }, (_, index) => registerNode({ nodeId: `seg-late-${index}`, rate: 1 }, { nodes })));
    const fourAgain = await cut(4);
    const eight = await cut(8);

    // Assess: a node stays in its segment as others join; segment g of 4 is segments 2g and 2g + 1 of 8.
    expect(four.flat()).toHaveLength(60);
    four.forEach((ids, segment) => { expect(fourAgain[segment]?.filter((id) => !id.startsWith('seg-late-'))).toEqual(ids); });
    fourAgain.forEach((ids, segment) => { expect([...(eight[2 * segment] ?? []), ...(eight[2 * segment + 1] ?? [])].sort()).toEqual(ids); });
  });
});
