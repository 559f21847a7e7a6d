/**
 * `microbatch nodes get ID`: one node's cursor, plan and lag, and how long it needs to catch up —
 * read from stand-ins of the Nodes table and the log head, and the parts of the command that come
 * before any deployment.
 */
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import type { PlanHistory } from '#shared/domain/segment-plan.ts';
import type { NodeState } from '#shared/domain/types.ts';
import { UsageError } from '#local/errors.ts';
import { describeNode } from '#cli/commands/nodes.ts';
import { getNode, type NodeDetail } from '#cli/nodes/node-detail.ts';
import { microbatch } from '#test/support/microbatch-cli.ts';

/** n-1: 2 updates/s, cursor at 7, its item's plan never written (the segment records hold it). */
const NODE: NodeState = { nodeId: 'n-1', rate: 2, status: 'active', appliedSeq: 7, appliedChain: GENESIS_CHAIN, appliedAt: '2026-12-01T10:00:00.000Z', plannedSeq: 0 };
/** Its segment's newest record: planned up to 7 in interval 3. */
const PLANS = new Map<string, PlanHistory>([['n-1', { entry: { nodeId: 'n-1', plannedSeq: 7, progressSeq: 7, progressInterval: 3 }, interval: 3 }]]);

/** n-1 against a head of 102 (95 behind) at t = 10 s: share ceil(2 · 10) = 20 a interval. */
function read(options: { readonly nodeId?: string; readonly ingestRate?: number; readonly node?: NodeState } = {}): Promise<NodeDetail> {
  const node = options.node ?? NODE;
  return getNode(options.nodeId ?? 'n-1', {
    nodes: { get: (nodeId) => Promise.resolve(nodeId === node.nodeId ? node : undefined) },
    log: { readHead: () => Promise.resolve({ head: 102, headChain: GENESIS_CHAIN }) },
    stream: 'main',
    plans: () => Promise.resolve(PLANS),
    intervalSeconds: 10,
    ...(options.ingestRate === undefined ? {} : { ingestRate: options.ingestRate }),
  });
}

describe('getNode', () => {
  it("shows the node's cursor, its plan from its segment's record and its lag behind the head", async () => {
    // Act
    const detail = await read();

    // Assess
    expect(detail).toMatchObject({ stream: 'main', head: 102, nodeId: 'n-1', status: 'active', rate: 2, appliedSeq: 7, plannedSeq: 7, lag: 95, appliedAt: '2026-12-01T10:00:00.000Z' });
    expect(detail).toMatchObject({ intervalSeconds: 10, sharePerInterval: 20 });
  });

  it('estimates the catch-up without ingest as ceil(lag / ceil(r·t)) intervals of t', async () => {
    // Act: 95 behind at 20 a interval.
    const detail = await read();

    // Assess
    expect(detail.catchUp).toEqual({ ingestRate: null, ingestPerInterval: null, intervals: 5, seconds: 50 });
  });

  it('estimates the catch-up under continuing ingest as ceil(lag / (share − ingest·t)) intervals', async () => {
    // Act: 1.5/s is 15 a interval, so the node gains 20 − 15 = 5: ceil(95 / 5) = 19 intervals.
    const detail = await read({ ingestRate: 1.5 });

    // Assess
    expect(detail.catchUp).toEqual({ ingestRate: 1.5, ingestPerInterval: 15, intervals: 19, seconds: 190 });
  });

  it.each([
    ['equals', 2],
    ['falls below', 3],
  ])('never catches up while ingest continues when its share %s the ingest per interval', async (_, ingestRate) => {
    // Act
    const detail = await read({ ingestRate });

    // Assess
    expect(detail.catchUp).toEqual({ ingestRate, ingestPerInterval: ingestRate * 10, intervals: null, seconds: null });
  });

  it('needs no catch-up at the head, whatever the ingest', async () => {
    // Act
    const detail = await read({ node: { ...NODE, appliedSeq: 102 }, ingestRate: 5 });

    // Assess
    expect(detail.lag).toBe(0);
    expect(detail.catchUp).toMatchObject({ intervals: 0, seconds: 0 });
  });

  it('refuses a node that does not exist, saying how to see the registered ones', async () => {
    // Act
    const attempt = read({ nodeId: 'ghost' });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow('no node ghost: `nodes list` shows the registered nodes');
  });
});

describe('describeNode', () => {
  it('prints the node, its cursor against the head and the catch-up estimate for a person', async () => {
    // Act
    const text = describeNode(await read());

    // Assess
    expect(text).toBe(
      [
        'node n-1 (stream main): active, rate 2/s: share ceil(r·t) = 20 updates per interval at t = 10 s',
        'cursor (appliedSeq) 7, planned (plannedSeq) 7, head 102: lag 95 updates',
        'last applied 2026-12-01T10:00:00.000Z',
        'catch-up: ≈ 5 intervals (50 s) at 20 a interval, if nothing more is ingested (--ingest-rate R: as if ingest goes on at R/s)',
      ].join('\n'),
    );
  });

  it('says how much the node gains a interval under the ingest given', async () => {
    expect(describeNode(await read({ ingestRate: 1.5 }))).toMatch(/\ncatch-up: ≈ 19 intervals \(190 s\): it gains 20 − 15 = 5 a interval under 1\.5\/s of ingest$/);
  });

  it('says "never while ingest continues" when the share does not exceed the ingest, and what to do', async () => {
    expect(describeNode(await read({ ingestRate: 2 }))).toMatch(
      /\ncatch-up: never while ingest continues: its share of 20 does not exceed the 20 ingested per interval \(2\/s\); raise its rate \(nodes set-rate n-1 R\)$/,
    );
  });

  it('says a paused node gets nothing until it is resumed, and one at the head needs no catch-up', async () => {
    expect(describeNode(await read({ node: { ...NODE, status: 'paused' } }))).toMatch(/\ncatch-up: .*; paused: nothing is planned for it until `nodes resume n-1`$/);
    const neverApplied: NodeState = { nodeId: 'n-1', rate: 2, status: 'active', appliedSeq: 102, appliedChain: GENESIS_CHAIN, plannedSeq: 102 };
    expect(describeNode(await read({ node: neverApplied }))).toMatch(/\nlast applied never\ncatch-up: none needed: it holds the head$/);
  });
});

describe('microbatch nodes get, before any deployment', () => {
  it.each([
    [['nodes', 'get'], /missing required argument 'nodeId'/],
    [['nodes', 'get', 'tenant 4'], /node id "tenant 4": must be 1–64 letters/],
    [['nodes', 'get', 'n-1', '--ingest-rate', 'fast'], /--ingest-rate.*must be a number ≥ 0 of updates per second/],
    [['nodes', 'get', 'n-1', '--ingest-rate', '-1'], /--ingest-rate.*must be a number ≥ 0 of updates per second/],
  ])('exits 2 with a clear message for %j', async (args, message) => {
    // Act: the state file does not exist, so only a check made before reading it can answer.
    const { code, stdout, stderr } = await microbatch('--state-file', '/nonexistent/state.json', ...args);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });
});
