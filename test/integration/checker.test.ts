/**
 * The checker's DynamoDB adapters against DynamoDB Local: the condition expressions that keep
 * verdicts from going backwards, expiry and the watermark as DynamoDB evaluates them, and chain
 * reads of entries with values near the 350 KiB limit.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import type { IntervalVerdict, PlanHeader } from '#shared/domain/types.ts';
import { chainEntries } from '#shared/usecases/append-updates.ts';
import { localDocumentClient, localDynamoClient, localSqsClient } from '#local/emulators.ts';
import { createResources, type LocalResources } from '#local/resources.ts';

const endpoints = inject('emulators');
const dynamodb = localDynamoClient(endpoints.dynamodb);
const doc = localDocumentClient(endpoints.dynamodb);
const sqs = localSqsClient(endpoints.sqs);
let resources: LocalResources;
let store: DynamoConvergenceStore;

const K = 29_447_718;
const at = (minute: number): string => new Date(Date.UTC(2026, 10, 27, 10, minute)).toISOString();

function header(stream: string, interval: number): PlanHeader {
  return { stream, interval, head: 30, headChain: GENESIS_CHAIN, plannedAt: at(0), shards: 1, segments: 1, previousSegments: 1 };
}

function verdict(interval: number, consistentNodes: number): IntervalVerdict {
  return {
    interval,
    head: 30,
    activeNodes: 2,
    consistentNodes,
    maxLagUpdates: consistentNodes === 2 ? 0 : 10,
    maxStalenessSeconds: 0,
    laggingCount: 2 - consistentNodes,
    laggingNodes: [],
    underProvisionedCount: 0,
    underProvisionedNodes: [],
    integrityFailureCount: 0,
    integrityFailures: [],
    converged: consistentNodes === 2,
  };
}

async function recordOf(stream: string, interval: number): Promise<Record<string, unknown> | undefined> {
  const { records } = await store.statuses(stream, interval);
  return records.find((record) => record.interval === interval) as Record<string, unknown> | undefined;
}

beforeAll(async () => {
  resources = await createResources({ dynamodb, sqs }, { prefix: 'checker' });
  store = new DynamoConvergenceStore(doc, resources.tables.convergence);
});

afterAll(() => {
  dynamodb.destroy();
  doc.destroy();
  sqs.destroy();
});

describe('verdict writes on DynamoDB Local', () => {
  it('never take a record backwards: not over a converged verdict, a later tick, or a write since the read', async () => {
    // Prepare
    const stream = 'backwards';
    await store.putPlanHeader(header(stream, K), 2_000_000_000);

    // Act
    const first = await store.recordVerdict(stream, verdict(K, 0), { checkedAt: at(2), readVersion: 0 });
    const staleRead = await store.recordVerdict(stream, verdict(K, 1), { checkedAt: at(2), readVersion: 0 });
    const earlierTick = await store.recordVerdict(stream, verdict(K, 1), { checkedAt: at(1), readVersion: 1 });
    const converged = await store.recordVerdict(stream, verdict(K, 2), { checkedAt: at(3), readVersion: 1 });
    const afterConverged = await store.recordVerdict(stream, verdict(K, 1), { checkedAt: at(4), readVersion: 2 });
    const headless = await store.recordVerdict(stream, verdict(K + 1, 2), { checkedAt: at(4), readVersion: 0 });

    // Assess
    expect([first, staleRead, earlierTick, converged, afterConverged, headless]).toEqual([true, false, false, true, false, false]);
    expect(await recordOf(stream, K)).toMatchObject({ converged: true, convergedAt: at(3), checkedAt: at(3), version: 2 });
    expect((await store.recent(stream, K, 1))[0]?.verdict).toMatchObject({ consistentNodes: 2, converged: true });
  });
});

describe('expiry and the watermark on DynamoDB Local', () => {
  it('expires only an open record, blocks verdicts on it, and reads only above the watermark once raised', async () => {
    // Prepare
    const stream = 'expiry';
    for (const interval of [K - 2, K - 1, K]) await store.putPlanHeader(header(stream, interval), 2_000_000_000);
    await store.recordVerdict(stream, verdict(K - 1, 2), { checkedAt: at(1), readVersion: 0 });

    // Act
    const expired = await store.expire(stream, K - 2, at(5), 'left-window');
    const again = await store.expire(stream, K - 2, at(6), 'left-window');
    const convergedOne = await store.expire(stream, K - 1, at(5), 'left-window');
    const verdictAfter = await store.recordVerdict(stream, verdict(K - 2, 2), { checkedAt: at(6), readVersion: 1 });
    await store.closeThrough(stream, K - 1);
    await store.closeThrough(stream, K - 2);
    const { closedThrough, records } = await store.statuses(stream, K);

    // Assess
    expect([expired, again, convergedOne, verdictAfter]).toEqual([true, false, false, false]);
    expect(closedThrough).toBe(K - 1);
    expect(records.map((record) => record.interval)).toEqual([K]);
    expect((await store.recent(stream, K - 2, 1))[0]).toMatchObject({ interval: K - 2, converged: false, expiredAt: at(5), version: 1 });
  });
});

describe('chain reads on DynamoDB Local', () => {
  it('read the links of 60 entries of ~340 KiB each in more than one call, as the 16 MB limit counts whole items, and miss none', async () => {
    // Prepare: 60 values of 340 KiB are ~20 MB, past BatchGetItem's 16 MB for one call, though the
    // projected links are ~10 KB; 9 entries per transaction stay under its 4 MB.
    const counted = localDocumentClient(endpoints.dynamodb);
    let calls = 0;
    counted.middlewareStack.add(
      (next) => (args) => {
        calls += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    const log = new DynamoLogStore(counted, resources.tables.log);
    const stream = 'large';
    const big = 'x'.repeat(340 * 1024);
    const entries = chainEntries({ head: 0, headChain: GENESIS_CHAIN }, Array.from({ length: 60 }, (_, i) => ({ key: `k-${i}`, op: 'put' as const, value: big })), at(0));
    for (let start = 0; start < entries.length; start += 9) {
      await log.append(stream, { head: start, headChain: start === 0 ? GENESIS_CHAIN : (entries[start - 1]?.chain ?? '') }, entries.slice(start, start + 9), at(0));
    }

    // Act
    calls = 0;
    const links = await log.readChains(stream, entries.map((entry) => entry.seq));
    counted.destroy();

    // Assess
    expect(calls).toBeGreaterThan(1);
    expect(links.size).toBe(60);
    expect(links.get(42)).toStrictEqual({ seq: 42, chain: entries[41]?.chain, producedAt: at(0) });
  });
});
