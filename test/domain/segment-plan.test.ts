import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { decodeEntries, encodeEntries, entryOf, MalformedPlanEntriesError, withPlanHistory, type PlanEntry } from '#shared/domain/segment-plan.ts';
import type { NodeState } from '#shared/domain/types.ts';

const NODE: NodeState = { nodeId: 'n-1', rate: 1, status: 'active', appliedSeq: 100, appliedChain: GENESIS_CHAIN, plannedSeq: 40, plannedInterval: 7, progressSeq: 40, progressInterval: 7 };

describe('plan entries as text', () => {
  it('round-trip every entry, with or without a stall clock, and node ids of any printable punctuation', () => {
    const entryArb: fc.Arbitrary<PlanEntry> = fc.record(
      {
        nodeId: fc.stringMatching(/^[\x21-\x7E]{1,64}$/),
        plannedSeq: fc.nat(),
        progressSeq: fc.nat(),
        progressInterval: fc.nat(),
      },
      { requiredKeys: ['nodeId', 'plannedSeq'] },
    );
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 50 }), (entries) => {
        expect(decodeEntries(encodeEntries(entries))).toEqual(entries);
      }),
    );
  });

  it('refuse a line that is not four tab-separated fields of whole numbers, naming the line', () => {
    expect(() => decodeEntries('n-1\t5\t\t\nn-2\t5\n')).toThrow(new MalformedPlanEntriesError(2, 'must be nodeId, plannedSeq, progressSeq and progressInterval separated by tabs'));
    expect(() => decodeEntries('n-1\t-5\t\t\n')).toThrow(/line 1: plannedSeq is not a whole number/);
    expect(() => decodeEntries('n-1\t5\t1.5\t\n')).toThrow(/line 1: progressSeq is not a whole number/);
  });
});

describe('withPlanHistory', () => {
  it('plans a node from its segment’s newest record', () => {
    const node = withPlanHistory(NODE, { entry: { nodeId: 'n-1', plannedSeq: 160, progressSeq: 100, progressInterval: 9 }, interval: 11 });
    expect(node).toMatchObject({ plannedSeq: 160, plannedInterval: 11, progressSeq: 100, progressInterval: 9, appliedSeq: 100 });
  });

  it('keeps the item’s plan when the item was claimed after the record (a node that had no room in it)', () => {
    expect(withPlanHistory({ ...NODE, plannedInterval: 12 }, { entry: { nodeId: 'n-1', plannedSeq: 160 }, interval: 11 })).toEqual({ ...NODE, plannedInterval: 12 });
  });

  it('ignores a record from an earlier life of the id: its stall clock saw a cursor above today’s', () => {
    expect(withPlanHistory({ ...NODE, appliedSeq: 0 }, { entry: { nodeId: 'n-1', plannedSeq: 500, progressSeq: 450, progressInterval: 3 }, interval: 4 })).toEqual({ ...NODE, appliedSeq: 0 });
  });

  it('carries a node forward unchanged through its entry', () => {
    const history = { entry: entryOf(NODE), interval: 7 };
    expect(withPlanHistory(NODE, history)).toEqual(NODE);
  });
});
