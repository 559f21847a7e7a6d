import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { readNodeItem } from '#shared/domain/node.ts';

/** A Nodes item as `registerNode` writes it, after one plan and one apply. */
const ITEM = {
  nodeId: 'n-1',
  rate: 5,
  status: 'active',
  appliedSeq: 100,
  appliedChain: GENESIS_CHAIN,
  plannedSeq: 300,
  plannedAt: '2026-11-27T10:18:00.000Z',
  plannedInterval: 29_447_718,
  progressSeq: 100,
  progressInterval: 29_447_717,
  appliedAt: '2026-11-27T10:18:03.000Z',
  lastProducedAt: '2026-11-27T10:17:59.000Z',
};

describe('readNodeItem', () => {
  it('reads a complete item into a node', () => {
    expect(readNodeItem(ITEM)).toEqual({ node: ITEM });
  });

  it('reads a freshly registered item, whose plan and progress fields are absent', () => {
    const { nodeId, rate, status, appliedSeq, appliedChain, plannedSeq } = ITEM;

    expect(readNodeItem({ nodeId, rate, status, appliedSeq, appliedChain, plannedSeq })).toEqual({ node: { nodeId, rate, status, appliedSeq, appliedChain, plannedSeq } });
  });

  it('accepts the node ids SQS accepts as message group ids, such as tenant:42', () => {
    expect(readNodeItem({ ...ITEM, nodeId: 'tenant:42' })).toMatchObject({ node: { nodeId: 'tenant:42' } });
  });

  it.each([
    ['a rate stored as a string (as an AWS CLI item with "S" instead of "N")', { rate: '5' }, 'rate', 'must be a positive number of updates per second (got "5")'],
    ['a rate of 0', { rate: 0 }, 'rate', 'must be a positive number of updates per second (got 0)'],
    ['a negative rate', { rate: -2 }, 'rate', 'must be a positive number of updates per second (got -2)'],
    ['a missing rate', { rate: undefined }, 'rate', 'is missing'],
    ['a misspelt status', { status: 'Active' }, 'status', 'must be one of active, paused (got "Active")'],
    ['a node id with a space, which SQS refuses as a message group id', { nodeId: 'tenant 42' }, 'nodeId', 'must be 1–64 letters, digits or ASCII punctuation (no spaces): what SQS accepts as a message group id (got "tenant 42")'],
    ['a fractional cursor', { appliedSeq: 1.5 }, 'appliedSeq', 'must be a whole number ≥ 0 (got 1.5)'],
    ['a chain stored as a number', { appliedChain: 7 }, 'appliedChain', 'must be a non-empty string (got 7)'],
    ['a plannedInterval stored as a string', { plannedInterval: '7' }, 'plannedInterval', 'must be a whole number ≥ 0 (got "7")'],
  ])('rejects %s, naming the attribute', (_what, change: Record<string, unknown>, attribute, problem) => {
    const nodeId = typeof change.nodeId === 'string' ? change.nodeId : 'n-1';

    expect(readNodeItem({ ...ITEM, ...change })).toEqual({ rejected: { nodeId, attribute, problem } });
  });

  it('reports an item whose node id is not a string with the id as JSON', () => {
    expect(readNodeItem({ ...ITEM, nodeId: 42 })).toEqual({ rejected: { nodeId: '42', attribute: 'nodeId', problem: expect.stringContaining('(got 42)') as unknown } });
  });
});
