/**
 * The in-memory ports keep the adapters' contracts; the model test and the handler tests rely on
 * each of these.
 */
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { ChunkCommittedError, HeadMovedError } from '#shared/domain/errors.ts';
import type { IntervalVerdict, LogEntry, Microbatch, PlanHeader } from '#shared/domain/types.ts';
import { listActive, type NodePage } from '#shared/domain/ports.ts';
import { chainEntries } from '#shared/usecases/append-updates.ts';
import {
  FaultPlan,
  InjectedCrash,
  InMemoryConvergenceStore,
  InMemoryLog,
  InMemoryNodeRepository,
  InMemoryQueue,
  InMemoryReplicaStore,
  withLatency,
} from '#test/support/in-memory.ts';

const AT = '2026-11-27T10:00:00.000Z';

function entriesAfter(head: { head: number; headChain: string }, count: number): LogEntry[] {
  return chainEntries(
    head,
    Array.from({ length: count }, (_, index) => ({ key: `k${index}`, op: 'put' as const, value: { n: index } })),
    AT,
  );
}

function header(interval: number, head = 5): PlanHeader {
  return { stream: 'main', interval, head, headChain: GENESIS_CHAIN, plannedAt: AT, shards: 1, segments: 1, previousSegments: 1 };
}

function verdict(interval: number, converged: boolean): IntervalVerdict {
  return {
    interval,
    head: 5,
    activeNodes: 1,
    consistentNodes: converged ? 1 : 0,
    maxLagUpdates: converged ? 0 : 2,
    maxStalenessSeconds: 0,
    laggingCount: converged ? 0 : 1,
    laggingNodes: converged ? [] : [{ nodeId: 'n-1', appliedSeq: 3, lagUpdates: 2, stalenessSeconds: 0 }],
    underProvisionedCount: 0,
    underProvisionedNodes: [],
    integrityFailureCount: 0,
    integrityFailures: [],
    converged,
  };
}

function microbatch(index: number, target: number, interval = 7): Microbatch {
  return { v: 2, stream: 'main', nodeId: 'n-1', interval, from: 0, target, index, count: 2, plannedAt: AT };
}

describe('the in-memory log', () => {
  it('reads an empty stream as head 0 with the genesis chain', async () => {
    expect(await new InMemoryLog().readHead('main')).toEqual({ head: 0, headChain: GENESIS_CHAIN });
  });

  it('appends on the expected head and moves the head item to the last entry', async () => {
    const log = new InMemoryLog();
    const entries = entriesAfter({ head: 0, headChain: GENESIS_CHAIN }, 3);

    await log.append('main', { head: 0, headChain: GENESIS_CHAIN }, entries, AT);

    expect(await log.readHead('main')).toEqual({ head: 3, headChain: entries[2]?.chain, updatedAt: AT });
    expect(await log.readRange('main', 1, 3)).toEqual(entries.slice(1));
    expect([...(await log.readChains('main', [3, 9])).keys()]).toEqual([3]);
  });

  it('rejects an append on a head that moved, appending nothing', async () => {
    const log = new InMemoryLog();
    const genesis = { head: 0, headChain: GENESIS_CHAIN };
    await log.append('main', genesis, entriesAfter(genesis, 2), AT);

    await expect(log.append('main', genesis, entriesAfter(genesis, 1), AT)).rejects.toBeInstanceOf(HeadMovedError);
    expect((await log.readHead('main')).head).toBe(2);
  });

  it('rejects entries that do not follow the head, and more than 99 at once', async () => {
    const log = new InMemoryLog();
    const genesis = { head: 0, headChain: GENESIS_CHAIN };

    await expect(log.append('main', { head: 1, headChain: GENESIS_CHAIN }, entriesAfter(genesis, 1), AT)).rejects.toBeInstanceOf(RangeError);
    await expect(log.append('main', genesis, entriesAfter(genesis, 100), AT)).rejects.toBeInstanceOf(RangeError);
    expect((await log.readHead('main')).head).toBe(0);
  });

  it('refuses, as DynamoDB does, an item over 400 KiB or a transaction over 4 MiB, appending nothing', async () => {
    const log = new InMemoryLog();
    const genesis = { head: 0, headChain: GENESIS_CHAIN };
    const blobs = (count: number, bytes: number): LogEntry[] =>
      chainEntries(genesis, Array.from({ length: count }, (_, index) => ({ key: `blob/${index}`, op: 'put' as const, value: 'x'.repeat(bytes) })), AT);

    await expect(log.append('main', genesis, blobs(1, 400 * 1024), AT)).rejects.toThrow(/over the item limit/);
    await expect(log.append('main', genesis, blobs(13, 340 * 1024), AT)).rejects.toThrow(/at most 4194304 bytes/);
    expect((await log.readHead('main')).head).toBe(0);
    await log.append('main', genesis, blobs(12, 340 * 1024), AT);
    expect((await log.readHead('main')).head).toBe(12);
  });

  it('keeps a chunk marker in the append’s own step, and refuses a live one twice, whatever the head', async () => {
    const log = new InMemoryLog();
    const genesis = { head: 0, headChain: GENESIS_CHAIN };
    const first = entriesAfter(genesis, 2);
    const marker = { stream: 'main', idempotencyKey: 'k', chunk: 0, chunks: 1, firstSeq: 1, lastSeq: 2, fingerprint: 'f'.repeat(64), retries: 0, committedAt: AT, expiresAt: Date.parse(AT) / 1000 + 60 };
    await log.append('main', genesis, first, AT, marker);
    const head = await log.readHead('main');

    await expect(log.append('main', head, chainEntries(head, [{ key: 'x', op: 'delete' }], AT), AT, { ...marker, firstSeq: 3, lastSeq: 3 })).rejects.toBeInstanceOf(ChunkCommittedError);
    expect(await log.readMarkers('main', 'k')).toEqual([marker]);
    expect(await log.readMarkers('main', 'other')).toEqual([]);
    expect((await log.readHead('main')).head).toBe(2);
  });

  it('lets a chunk overwrite its marker once that has expired, as the adapter’s condition does', async () => {
    const log = new InMemoryLog();
    const genesis = { head: 0, headChain: GENESIS_CHAIN };
    const expired = { stream: 'main', idempotencyKey: 'k', chunk: 0, chunks: 1, firstSeq: 1, lastSeq: 1, fingerprint: 'f'.repeat(64), retries: 0, committedAt: AT, expiresAt: Date.parse(AT) / 1000 };
    await log.append('main', genesis, entriesAfter(genesis, 1), AT, expired);
    const head = await log.readHead('main');

    await log.append('main', head, chainEntries(head, [{ key: 'x', op: 'delete' }], AT), AT, { ...expired, firstSeq: 2, lastSeq: 2, expiresAt: expired.expiresAt + 60 });

    expect((await log.readMarkers('main', 'k')).map((marker) => marker.lastSeq)).toEqual([2]);
  });

  it('hands out values as they come back from JSON text, and copies callers cannot change', async () => {
    const log = new InMemoryLog();
    const genesis = { head: 0, headChain: GENESIS_CHAIN };
    const [entry] = chainEntries(genesis, [{ key: 'k', op: 'put', value: { n: -0, list: [1] } }], AT);
    if (entry === undefined) throw new Error('no entry');
    await log.append('main', genesis, [entry], AT);

    const [read] = await log.readRange('main', 0, 1);
    (read?.value as { list: number[] }).list.push(2);

    expect((await log.readRange('main', 0, 1))[0]?.value).toEqual(JSON.parse('{"n":0,"list":[1]}'));
    expect(Object.is(((await log.readRange('main', 0, 1))[0]?.value as { n: number }).n, -0)).toBe(false);
  });
});

describe('the in-memory node repository', () => {
  it('registers a node with empty cursors and keeps them when it is registered again', async () => {
    const nodes = new InMemoryNodeRepository();
    await nodes.register({ nodeId: 'n-1', rate: 2 });
    await nodes.claimPlan('n-1', 0, { plannedSeq: 4, plannedAt: AT, plannedInterval: 7, progressSeq: 0, progressInterval: 7 });

    await nodes.register({ nodeId: 'n-1', rate: 3, status: 'paused' });

    expect(await nodes.get('n-1')).toEqual({
      nodeId: 'n-1',
      rate: 3,
      status: 'paused',
      appliedSeq: 0,
      appliedChain: GENESIS_CHAIN,
      plannedSeq: 4,
      plannedAt: AT,
      plannedInterval: 7,
      progressSeq: 0,
      progressInterval: 7,
    });
    expect(await listActive(nodes)).toEqual({ nodes: [], rejected: [] });
  });

  it('claims a plan only while plannedSeq is what the planner read, and never for an unknown node', async () => {
    const nodes = new InMemoryNodeRepository();
    await nodes.register({ nodeId: 'n-1', rate: 2 });
    const claim = { plannedSeq: 4, plannedAt: AT, plannedInterval: 7, progressSeq: 0, progressInterval: 7 };

    expect(await nodes.claimPlan('n-1', 0, claim)).toBe(true);
    expect(await nodes.claimPlan('n-1', 0, { ...claim, plannedSeq: 6 })).toBe(false);
    expect(await nodes.claimPlan('n-2', 0, claim)).toBe(false);
    expect((await nodes.get('n-1'))?.plannedSeq).toBe(4);
    expect(nodes.claims).toEqual([{ nodeId: 'n-1', expectedPlannedSeq: 0, claim }]);
  });

  it('advances a cursor only from the appliedSeq the applier read', async () => {
    const nodes = new InMemoryNodeRepository();
    await nodes.register({ nodeId: 'n-1', rate: 2 });
    const cursor = { appliedSeq: 3, appliedChain: 'c3', appliedAt: AT, lastProducedAt: AT };

    expect(await nodes.advanceCursor('n-1', 0, cursor)).toBe(true);
    expect(await nodes.advanceCursor('n-1', 0, { ...cursor, appliedSeq: 5 })).toBe(false);
    expect(await nodes.advanceCursor('n-2', 0, cursor)).toBe(false);
    expect(await nodes.get('n-1')).toMatchObject(cursor);
    expect(nodes.cursorMoves).toEqual([{ nodeId: 'n-1', expectedAppliedSeq: 0, cursor }]);
  });

  it('lets only one of two racing claims win', async () => {
    const nodes = new InMemoryNodeRepository();
    await nodes.register({ nodeId: 'n-1', rate: 2 });

    const won = await Promise.all([
      nodes.claimPlan('n-1', 0, { plannedSeq: 2, plannedAt: AT, plannedInterval: 7, progressSeq: 0, progressInterval: 7 }),
      nodes.claimPlan('n-1', 0, { plannedSeq: 3, plannedAt: AT, plannedInterval: 7, progressSeq: 0, progressInterval: 7 }),
    ]);

    expect(won.filter(Boolean)).toHaveLength(1);
  });

  it('scans page by page and reports items written by hand that are not valid nodes, as the adapter does', async () => {
    const nodes = new InMemoryNodeRepository(2);
    for (const nodeId of ['n-1', 'n-2', 'n-3']) await nodes.register({ nodeId, rate: 2 });
    await nodes.register({ nodeId: 'n-4', rate: 2, status: 'paused' });
    nodes.putItem({ nodeId: 'n-5', rate: '2', status: 'active', appliedSeq: 0, appliedChain: GENESIS_CHAIN, plannedSeq: 0 });

    const pages: NodePage[] = [];
    for await (const page of nodes.scanActive()) pages.push(page);

    expect(pages.map((page) => page.nodes.map((node) => node.nodeId))).toEqual([['n-1', 'n-2'], ['n-3']]);
    expect(pages.flatMap((page) => page.rejected)).toEqual([{ nodeId: 'n-5', attribute: 'rate', problem: 'must be a positive number of updates per second (got "2")' }]);
  });
});

describe('the in-memory replica store', () => {
  it('writes a key only over an older seq and counts the rest as skipped', async () => {
    const replica = new InMemoryReplicaStore();
    await replica.write('n-1', [{ key: 'a', value: 1, seq: 5, updatedAt: AT }]);

    const result = await replica.write('n-1', [
      { key: 'a', value: 0, seq: 4, updatedAt: AT },
      { key: 'a', value: 0, seq: 5, updatedAt: AT },
      { key: 'b', deleted: true, seq: 6, updatedAt: AT },
    ]);

    expect(result).toEqual({ written: 1, skipped: 2 });
    expect(await replica.list('n-1')).toEqual([
      { key: 'a', value: 1, seq: 5, updatedAt: AT },
      { key: 'b', deleted: true, seq: 6, updatedAt: AT },
    ]);
  });

  it('replaces a value with a tombstone that keeps the seq of the delete', async () => {
    const replica = new InMemoryReplicaStore();
    await replica.write('n-1', [{ key: 'a', value: { x: 1 }, seq: 1, updatedAt: AT }]);

    await replica.write('n-1', [{ key: 'a', deleted: true, seq: 2, updatedAt: AT }]);

    expect(await replica.list('n-1')).toEqual([{ key: 'a', deleted: true, seq: 2, updatedAt: AT }]);
    expect(await replica.list('n-2')).toEqual([]);
  });
});

describe('the in-memory convergence store', () => {
  it('keeps the first plan header written for an interval', async () => {
    const store = new InMemoryConvergenceStore();

    expect(await store.putPlanHeader(header(7, 5), 100)).toEqual({ written: true, header: header(7, 5) });
    expect(await store.putPlanHeader(header(7, 9), 200)).toEqual({ written: false, header: header(7, 5) });

    expect((await store.recent('main', 7, 10))[0]).toEqual({ ...header(7, 5), shardsReported: 0, shardsExpired: 0, converged: false });
    expect(store.expiresAt('main', 7)).toBe(100);
  });

  it('lists the newest records up to an interval, newest first', async () => {
    const store = new InMemoryConvergenceStore();
    for (const interval of [3, 5, 4, 6]) await store.putPlanHeader(header(interval), 100);

    expect((await store.recent('main', 5, 2)).map((record) => record.interval)).toEqual([5, 4]);
    expect(await store.recent('other', 9, 10)).toEqual([]);
  });

  it('sets convergedAt the first time an interval converges and keeps the converged record final', async () => {
    const store = new InMemoryConvergenceStore();
    await store.putPlanHeader(header(7), 100);

    expect(await store.recordVerdict('main', verdict(7, false), { checkedAt: '2026-11-27T10:01:00.000Z', readVersion: 0 })).toBe(true);
    expect(await store.recordVerdict('main', verdict(7, true), { checkedAt: '2026-11-27T10:02:00.000Z', readVersion: 1 })).toBe(true);
    expect(await store.recordVerdict('main', verdict(7, true), { checkedAt: '2026-11-27T10:03:00.000Z', readVersion: 2 })).toBe(false);

    const [record] = await store.recent('main', 7, 1);
    expect(record).toMatchObject({ converged: true, convergedAt: '2026-11-27T10:02:00.000Z', checkedAt: '2026-11-27T10:02:00.000Z' });
    expect(record?.verdict).toEqual(verdict(7, true));
  });

  it('ignores a verdict on an interval that has no plan header', async () => {
    const store = new InMemoryConvergenceStore();

    expect(await store.recordVerdict('main', verdict(7, true), { checkedAt: AT, readVersion: 0 })).toBe(false);

    expect(await store.recent('main', 7, 10)).toEqual([]);
  });
});

describe('the in-memory queue', () => {
  it('keeps accepted messages in order, grouped by node, with their deduplication ids', async () => {
    const queue = new InMemoryQueue();

    await queue.send([microbatch(0, 4), microbatch(1, 4)]);

    expect(queue.messages.map(({ groupId, deduplicationId }) => ({ groupId, deduplicationId }))).toEqual([
      { groupId: 'n-1', deduplicationId: 'n-1:7:0:4' },
      { groupId: 'n-1', deduplicationId: 'n-1:7:1:4' },
    ]);
    expect(JSON.parse(queue.messages[1]?.body ?? '')).toEqual(microbatch(1, 4));
  });

  it('drops a message whose deduplication id it has seen, but not a token of a later interval', async () => {
    const queue = new InMemoryQueue();
    await queue.send([microbatch(0, 4)]);

    await queue.send([microbatch(0, 4), microbatch(0, 4, 8)]);

    expect(queue.messages.map((message) => message.deduplicationId)).toEqual(['n-1:7:0:4', 'n-1:8:0:4']);
    expect(queue.duplicatesDropped).toBe(1);
  });

  it('returns the tokens it is told to refuse and accepts the rest of the call', async () => {
    const queue = new InMemoryQueue();
    queue.refuseWhen((token) => token.index === 0);

    const unsent = await queue.send([microbatch(0, 4), microbatch(1, 4)]);

    expect(unsent).toEqual([{ microbatch: microbatch(0, 4), code: 'InternalError', senderFault: false }]);
    expect(queue.messages.map((message) => message.deduplicationId)).toEqual(['n-1:7:1:4']);
  });
});

describe('the fault plan', () => {
  it('crashes the nth call before it takes effect', async () => {
    const nodes = new InMemoryNodeRepository();
    const faults = new FaultPlan().crash('nodes.register', 2, 'before');
    const wrapped = faults.wrap('nodes', nodes);

    await wrapped.register({ nodeId: 'n-1', rate: 1 });
    await expect(wrapped.register({ nodeId: 'n-2', rate: 1 })).rejects.toBeInstanceOf(InjectedCrash);

    expect((await listActive(nodes)).nodes.map((node) => node.nodeId)).toEqual(['n-1']);
    expect(faults.callsOf('nodes.register')).toBe(2);
    expect(faults.crashes).toHaveLength(1);
  });

  it('crashes the nth call after it took effect', async () => {
    const nodes = new InMemoryNodeRepository();
    const wrapped = new FaultPlan([{ call: 'nodes.register', nth: 1, when: 'after' }]).wrap('nodes', nodes);

    await expect(wrapped.register({ nodeId: 'n-1', rate: 1 })).rejects.toBeInstanceOf(InjectedCrash);

    expect(await nodes.get('n-1')).toBeDefined();
  });

  it('stops crashing once disarmed', async () => {
    const faults = new FaultPlan().crash('nodes.register', 1, 'before');
    const wrapped = faults.wrap('nodes', new InMemoryNodeRepository());

    faults.disarm();

    await expect(wrapped.register({ nodeId: 'n-1', rate: 1 })).resolves.toBeUndefined();
  });
});

describe('a port with latency', () => {
  it('lets another caller land first', async () => {
    const nodes = new InMemoryNodeRepository();
    await nodes.register({ nodeId: 'n-1', rate: 1 });
    const slow = withLatency(nodes, () => 10);
    const claim = { plannedSeq: 1, plannedAt: AT, plannedInterval: 7, progressSeq: 0, progressInterval: 7 };

    const [slowWon, fastWon] = await Promise.all([slow.claimPlan('n-1', 0, claim), nodes.claimPlan('n-1', 0, claim)]);

    expect({ slowWon, fastWon }).toEqual({ slowWon: false, fastWon: true });
  });
});
