import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collapseToLastOpPerKey, decideApply } from '#shared/domain/apply.ts';
import type { JsonValue, LogEntry, Microbatch } from '#shared/domain/types.ts';

/** A token of a plan that started at `from` and targets `target`. */
function token(from: number, target: number): Microbatch {
  return { v: 2, stream: 'main', nodeId: 'n-17', interval: 29_447_718, from, target, index: 0, count: 1, plannedAt: '2026-11-27T10:18:00Z' };
}

function entry(seq: number, key: string, value?: JsonValue): LogEntry {
  const producedAt = new Date(Date.UTC(2026, 10, 27) + seq * 1000).toISOString();
  return value === undefined
    ? { seq, key, op: 'delete', chain: `chain-${seq}`, producedAt }
    : { seq, key, op: 'put', value, chain: `chain-${seq}`, producedAt };
}

describe('decideApply', () => {
  it('skips a token whose target the node has already reached', () => {
    expect(decideApply(1300, token(1200, 1300), 100)).toEqual({ kind: 'duplicate' });
    expect(decideApply(1450, token(1200, 1300), 100)).toEqual({ kind: 'duplicate' });
  });

  it('moves the cursor b toward the target', () => {
    expect(decideApply(1200, token(1200, 1500), 100)).toEqual({ kind: 'apply', start: 1200, end: 1300 });
  });

  it('stops at the target', () => {
    expect(decideApply(1250, token(1200, 1300), 100)).toEqual({ kind: 'apply', start: 1250, end: 1300 });
  });

  it('starts from the cursor, wherever the plan started, when earlier tokens were lost', () => {
    expect(decideApply(1000, token(1200, 1300), 100)).toEqual({ kind: 'apply', start: 1000, end: 1100 });
  });

  it('is a duplicate iff appliedSeq ≥ target, and otherwise applies (appliedSeq, min(target, appliedSeq + b)]', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1_000_000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: -2000, max: 2000 }),
        fc.integer({ min: 1, max: 1000 }),
        (from, size, offset, batchSize) => {
          const message = token(from, from + size);
          const appliedSeq = Math.max(0, from + offset);

          const decision = decideApply(appliedSeq, message, batchSize);

          expect(decision.kind === 'duplicate').toBe(appliedSeq >= message.target);
          if (decision.kind === 'apply') {
            expect(decision.start).toBe(appliedSeq);
            expect(decision.end).toBe(Math.min(message.target, appliedSeq + batchSize));
            expect(decision.end).toBeGreaterThan(decision.start);
            expect(decision.end - decision.start).toBeLessThanOrEqual(batchSize);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('brings the cursor to the target with any count tokens of a plan, in any order, whatever else was lost', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 300 }), (cursor, span, batchSize) => {
        const target = cursor + span;
        const count = Math.ceil(span / batchSize);
        let applied = cursor;
        for (let index = 0; index < count; index += 1) {
          const decision = decideApply(applied, token(cursor, target), batchSize);
          if (decision.kind === 'apply') applied = decision.end;
        }
        expect(applied).toBe(target);
      }),
      { numRuns: 300 },
    );
  });
});

describe('collapseToLastOpPerKey', () => {
  it('keeps the item of the last op per key, in the order of each key’s last occurrence', () => {
    const writes = collapseToLastOpPerKey([entry(1, 'a', 1), entry(2, 'b', 2), entry(3, 'a'), entry(4, 'c', { x: 1 }), entry(5, 'b', 3)]);

    expect(writes).toEqual([
      { key: 'a', deleted: true, seq: 3, updatedAt: '2026-11-27T00:00:03.000Z' },
      { key: 'c', value: { x: 1 }, seq: 4, updatedAt: '2026-11-27T00:00:04.000Z' },
      { key: 'b', value: 3, seq: 5, updatedAt: '2026-11-27T00:00:05.000Z' },
    ]);
    expect(writes[0]).not.toHaveProperty('value');
  });

  it('writes nothing for no entries', () => {
    expect(collapseToLastOpPerKey([])).toEqual([]);
  });

  it('gives the same final state as applying every entry in order, with one write per key carrying its last seq and producedAt', () => {
    const entriesArb = fc
      .tuple(
        fc.nat({ max: 1_000_000 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })), {
          maxLength: 40,
        }),
      )
      .map(([start, raw]) => raw.map(([key, value], i) => entry(start + i + 1, key, value as JsonValue | undefined)));

    fc.assert(
      fc.property(entriesArb, (entries) => {
        const replayed = new Map<string, JsonValue | undefined>();
        for (const e of entries) {
          if (e.op === 'put') replayed.set(e.key, e.value);
          else replayed.delete(e.key);
        }

        const writes = collapseToLastOpPerKey(entries);

        const collapsed = new Map<string, JsonValue | undefined>();
        for (const write of writes) {
          if (write.deleted) collapsed.delete(write.key);
          else collapsed.set(write.key, write.value);
        }
        expect(collapsed).toEqual(replayed);
        expect(writes.map((write) => write.key).sort()).toEqual([...new Set(entries.map((e) => e.key))].sort());
        for (const write of writes) {
          const last = entries.findLast((e) => e.key === write.key);
          expect(write).toEqual({
            key: last?.key,
            ...(last?.op === 'put' ? { value: last.value } : { deleted: true }),
            seq: last?.seq,
            updatedAt: last?.producedAt,
          });
        }
      }),
      { numRuns: 500 },
    );
  });
});
