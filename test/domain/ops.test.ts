import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as z from 'zod/mini';
import { ValidationError } from '#shared/domain/errors.ts';
import { applyEntry, OP_NAMES, OPS, replay, type Replica } from '#shared/domain/ops.ts';
import { newUpdateSchema, parseOrThrow } from '#shared/domain/schemas.ts';
import type { JsonValue, LogEntry, NewUpdate, Op, ReplicaItem } from '#shared/domain/types.ts';

function at(seq: number): string {
  return new Date(Date.UTC(2026, 10, 27) + seq * 1000).toISOString();
}

function put(seq: number, key: string, value: JsonValue): LogEntry {
  return { seq, key, op: 'put', value, chain: `chain-${seq}`, producedAt: at(seq) };
}

function del(seq: number, key: string): LogEntry {
  return { seq, key, op: 'delete', chain: `chain-${seq}`, producedAt: at(seq) };
}

/** An update with `op` shaped by its value rule: a value when the op needs one, none when it forbids one. */
function wellFormed(op: Op): NewUpdate {
  return OPS[op].value === 'required' ? { key: 'k', op, value: { n: 1 } } : { key: 'k', op };
}

/** The same update with the value rule broken. */
function illFormed(op: Op): NewUpdate {
  return OPS[op].value === 'required' ? { key: 'k', op } : { key: 'k', op, value: { n: 1 } };
}

function byKey(replica: Replica): ReplicaItem[] {
  return [...replica.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Entries seqs `start+1…` over a few keys, each op drawn from the list with a well-formed value. */
const entriesArb = fc
  .tuple(
    fc.nat({ max: 1_000_000 }),
    fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.constantFrom(...OP_NAMES), fc.jsonValue({ maxDepth: 2 })), { maxLength: 30 }),
  )
  .map(([start, raw]) =>
    raw.map(([key, op, value], index): LogEntry => {
      const seq = start + index + 1;
      return { seq, key, op, ...(OPS[op].value === 'required' ? { value: value as JsonValue } : {}), chain: `chain-${seq}`, producedAt: at(seq) };
    }),
  );

describe('applyEntry', () => {
  it('puts a value at its key, with the entry’s seq and producedAt', () => {
    const replica = applyEntry(new Map(), put(7, 'user/1', { name: 'Ada' }));

    expect([...replica.values()]).toStrictEqual([{ key: 'user/1', value: { name: 'Ada' }, seq: 7, updatedAt: at(7) }]);
  });

  it('leaves a tombstone that keeps the seq of a delete', () => {
    const replica = applyEntry(new Map(), del(8, 'user/1'));

    expect([...replica.values()]).toStrictEqual([{ key: 'user/1', deleted: true, seq: 8, updatedAt: at(8) }]);
  });

  it('overwrites whatever its key held: a delete drops the value, a put revives a deleted key', () => {
    const replica = applyEntry(new Map(), put(1, 'a', { x: 1, keep: true }));

    applyEntry(replica, del(2, 'a'));
    expect(replica.get('a')).toStrictEqual({ key: 'a', deleted: true, seq: 2, updatedAt: at(2) });

    applyEntry(replica, put(3, 'a', { y: 2 }));
    expect(replica.get('a')).toStrictEqual({ key: 'a', value: { y: 2 }, seq: 3, updatedAt: at(3) });
  });

  it('leaves the other keys alone and moves the key it writes to the end', () => {
    const replica = replay([put(1, 'a', 1), put(2, 'b', 2)]);

    applyEntry(replica, put(3, 'a', 3));

    expect([...replica.keys()]).toEqual(['b', 'a']);
    expect(replica.get('b')).toStrictEqual({ key: 'b', value: 2, seq: 2, updatedAt: at(2) });
  });
});

describe('replay', () => {
  it('is an empty replica for no entries', () => {
    expect(replay([])).toEqual(new Map());
  });

  it('holds the item of each key’s last entry, in the order of each key’s last occurrence', () => {
    const replica = replay([put(1, 'a', 1), put(2, 'b', 2), del(3, 'a'), put(4, 'c', null), put(5, 'b', [3])]);

    expect([...replica.values()]).toStrictEqual([
      { key: 'a', deleted: true, seq: 3, updatedAt: at(3) },
      { key: 'c', value: null, seq: 4, updatedAt: at(4) },
      { key: 'b', value: [3], seq: 5, updatedAt: at(5) },
    ]);
  });

  it('depends only on each key’s last entry, because every op overwrites its key', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const lastPerKey = entries.filter((entry, index) => !entries.slice(index + 1).some((later) => later.key === entry.key));

        expect(replay(lastPerKey)).toEqual(replay(entries));
      }),
      { numRuns: 300 },
    );
  });

  it('continues from the replay of a prefix: applying the rest gives the replay of the whole', () => {
    fc.assert(
      fc.property(entriesArb, fc.nat(), (entries, cut) => {
        const split = entries.length === 0 ? 0 : cut % (entries.length + 1);
        const replica = replay(entries.slice(0, split));
        for (const entry of entries.slice(split)) applyEntry(replica, entry);

        expect(replica).toEqual(replay(entries));
      }),
      { numRuns: 300 },
    );
  });

  it('equals what a seq-guarded store holds after receiving each entry’s item in any order', () => {
    fc.assert(
      fc.property(
        entriesArb.chain((entries) => fc.tuple(fc.constant(entries), fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }))),
        ([entries, delivered]) => {
          // The replica store's write: an item lands only over an older seq.
          const store: Replica = new Map();
          for (const entry of delivered) {
            const item = OPS[entry.op].item(entry);
            const current = store.get(item.key);
            if (current === undefined || current.seq < item.seq) store.set(item.key, item);
          }

          expect(byKey(store)).toEqual(byKey(replay(entries)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the op list', () => {
  it('is the type Op, the ingest schema’s enum and what an update’s op may be', () => {
    expectTypeOf<(typeof OP_NAMES)[number]>().toEqualTypeOf<Op>();
    expectTypeOf<z.infer<typeof newUpdateSchema>['op']>().toEqualTypeOf<Op>();
    expectTypeOf<NewUpdate['op']>().toEqualTypeOf<Op>();

    expect(OP_NAMES).toEqual(Object.keys(OPS));
    expect(newUpdateSchema.shape.op.options).toEqual(OP_NAMES);
  });

  it.each(OP_NAMES)('lets the ingest schema accept a %s shaped by its value rule and refuse one that breaks it', (op) => {
    expect(parseOrThrow(newUpdateSchema, wellFormed(op), 'update')).toEqual(wellFormed(op));
    expect(() => parseOrThrow(newUpdateSchema, illFormed(op), 'update')).toThrow(ValidationError);
  });

  it('makes the ingest schema refuse an op it does not list', () => {
    expect(() => parseOrThrow(newUpdateSchema, { key: 'k', op: 'upsert', value: 1 }, 'update')).toThrow(ValidationError);
  });
});
