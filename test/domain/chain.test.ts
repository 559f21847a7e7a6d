import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, firstChainBreak, GENESIS_CHAIN, nextChain } from '#shared/domain/chain.ts';
import type { JsonValue, LogEntry, NewUpdate } from '#shared/domain/types.ts';

const jsonArb = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>;
const updateArb: fc.Arbitrary<NewUpdate> = fc.oneof(
  fc.record({ key: fc.string({ minLength: 1, maxLength: 12 }), op: fc.constant('put' as const), value: jsonArb }),
  fc.record({ key: fc.string({ minLength: 1, maxLength: 12 }), op: fc.constant('delete' as const) }),
);
const chainArb = fc.stringMatching(/^[0-9a-f]{64}$/);

/** Appends `updates` after `fromSeq`/`fromChain` the way the log does. */
function buildLog(updates: readonly NewUpdate[], fromSeq = 0, fromChain = GENESIS_CHAIN): LogEntry[] {
  const entries: LogEntry[] = [];
  let chain = fromChain;
  updates.forEach((update, i) => {
    const seq = fromSeq + i + 1;
    chain = nextChain(chain, seq, update);
    entries.push({ ...update, seq, chain, producedAt: new Date(Date.UTC(2026, 10, 27) + seq * 1000).toISOString() });
  });
  return entries;
}

/** The same JSON value with every object's keys inserted in reverse order. */
function reverseKeyOrder(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(reverseKeyOrder);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([key, inner]) => [key, reverseKeyOrder(inner)]),
    );
  }
  return value;
}

function flipLastHexDigit(chain: string): string {
  return chain.slice(0, -1) + (chain.endsWith('0') ? '1' : '0');
}

type Tamper = 'value' | 'key' | 'op' | 'chain';
function tamper(entry: LogEntry, how: Tamper): LogEntry {
  switch (how) {
    case 'value':
      return entry.op === 'put' ? { ...entry, value: [entry.value ?? null] } : { ...entry, value: 'smuggled' };
    case 'key':
      return { ...entry, key: `${entry.key}!` };
    case 'op':
      return entry.op === 'put' ? { ...entry, op: 'delete' } : { ...entry, op: 'put', value: null };
    case 'chain':
      return { ...entry, chain: flipLastHexDigit(entry.chain) };
  }
}

describe('nextChain', () => {
  it('is sha256hex(previous + "\\n" + canonicalJson({seq, key, op, value}))', () => {
    const expected = createHash('sha256').update(`${GENESIS_CHAIN}\n{"key":"a","op":"put","seq":1,"value":{"x":1,"y":[true]}}`).digest('hex');

    expect(GENESIS_CHAIN).toBe('0'.repeat(64));
    expect(nextChain(GENESIS_CHAIN, 1, { key: 'a', op: 'put', value: { y: [true], x: 1 } })).toBe(expected);
  });

  it('leaves the value out of a delete', () => {
    const expected = createHash('sha256').update(`${GENESIS_CHAIN}\n{"key":"a","op":"delete","seq":2}`).digest('hex');

    expect(nextChain(GENESIS_CHAIN, 2, { key: 'a', op: 'delete' })).toBe(expected);
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(chainArb, fc.integer({ min: 1, max: 1_000_000_000 }), updateArb, (previous, seq, update) => {
        expect(nextChain(previous, seq, update)).toBe(nextChain(previous, seq, structuredClone(update)));
      }),
      { numRuns: 500 },
    );
  });

  it('changes when any one of previous chain, seq, key, op or value changes', () => {
    const changeArb = fc.oneof(
      chainArb.map((previous) => ({ previous })),
      fc.integer({ min: 1, max: 1_000_000_000 }).map((seq) => ({ seq })),
      fc.string({ minLength: 1, maxLength: 12 }).map((key) => ({ key })),
      fc.constant({ op: 'flip' as const }),
      jsonArb.map((value) => ({ value })),
    );
    fc.assert(
      fc.property(chainArb, fc.integer({ min: 1, max: 1_000_000_000 }), fc.string({ minLength: 1, maxLength: 12 }), jsonArb, changeArb, (previous, seq, key, value, change) => {
        const update: NewUpdate = { key, op: 'put', value };
        const link = nextChain(previous, seq, update);
        if ('previous' in change) {
          fc.pre(change.previous !== previous);
          expect(nextChain(change.previous, seq, update)).not.toBe(link);
        } else if ('seq' in change) {
          fc.pre(change.seq !== seq);
          expect(nextChain(previous, change.seq, update)).not.toBe(link);
        } else if ('key' in change) {
          fc.pre(change.key !== key);
          expect(nextChain(previous, seq, { ...update, key: change.key })).not.toBe(link);
        } else if ('op' in change) {
          expect(nextChain(previous, seq, { key, op: 'delete' })).not.toBe(link);
          expect(nextChain(previous, seq, { key, op: 'delete', value })).not.toBe(link);
        } else {
          fc.pre(canonicalJson(change.value) !== canonicalJson(value));
          expect(nextChain(previous, seq, { ...update, value: change.value })).not.toBe(link);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('does not change with the key order of objects in the value', () => {
    fc.assert(
      fc.property(chainArb, fc.integer({ min: 1, max: 1_000_000_000 }), jsonArb, (previous, seq, value) => {
        expect(nextChain(previous, seq, { key: 'k', op: 'put', value: reverseKeyOrder(value) })).toBe(
          nextChain(previous, seq, { key: 'k', op: 'put', value }),
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe('canonicalJson', () => {
  it('sorts object keys and keeps array order', () => {
    expect(canonicalJson(JSON.parse('{"b":1,"a":[1,"x",null]}') as JsonValue)).toBe('{"a":[1,"x",null],"b":1}');
  });

  it('writes numbers the way RFC 8785 does', () => {
    expect(canonicalJson(1e21)).toBe('1e+21');
    expect(canonicalJson(0.1)).toBe('0.1');
    expect(canonicalJson(-0)).toBe('0');
    expect(canonicalJson(1e-7)).toBe('1e-7');
    expect(canonicalJson(0.000001)).toBe('0.000001');
    expect(canonicalJson(9007199254740992)).toBe('9007199254740992');
    expect(canonicalJson(Number.MIN_VALUE)).toBe('5e-324');
    expect(canonicalJson(Number.MAX_VALUE)).toBe('1.7976931348623157e+308');
  });

  it('matches the RFC 8785 §3.2.2 example', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;

    expect(canonicalJson(JSON.parse(input) as JsonValue)).toBe(expected);
  });

  it('sorts keys by UTF-16 code units as in the RFC 8785 §3.2.3 example', () => {
    const input = String.raw`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`;

    const text = canonicalJson(JSON.parse(input) as JsonValue);
    const order = [...text.matchAll(/"([^"]+)"(?=,|\})/g)].map((match) => match[1]);

    expect(order).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });
});

describe('firstChainBreak', () => {
  it('accepts an empty range', () => {
    expect(firstChainBreak(7, GENESIS_CHAIN, [])).toBeUndefined();
  });

  it('finds nothing wrong with a correctly built chain, verified whole or from any entry on', () => {
    fc.assert(
      fc.property(fc.array(updateArb, { minLength: 1, maxLength: 30 }), fc.nat(), (updates, cut) => {
        const log = buildLog(updates);
        const from = cut % log.length;
        const previous = log[from - 1];

        expect(firstChainBreak(0, GENESIS_CHAIN, log)).toBeUndefined();
        expect(firstChainBreak(previous?.seq ?? 0, previous?.chain ?? GENESIS_CHAIN, log.slice(from))).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('names the exact seq of an entry whose value, key, op or chain was tampered with', () => {
    fc.assert(
      fc.property(
        fc.array(updateArb, { minLength: 1, maxLength: 30 }),
        fc.nat({ max: 1000 }),
        chainArb,
        fc.nat(),
        fc.constantFrom<Tamper>('value', 'key', 'op', 'chain'),
        (updates, fromSeq, fromChain, at, how) => {
          const log = buildLog(updates, fromSeq, fromChain);
          const index = at % log.length;
          const tampered = log.map((entry, i) => (i === index ? tamper(entry, how) : entry));

          expect(firstChainBreak(fromSeq, fromChain, tampered)).toBe(fromSeq + index + 1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('names the seq of the first entry when the range does not link on from the given chain', () => {
    const log = buildLog([{ key: 'a', op: 'put', value: 1 }]);

    expect(firstChainBreak(0, flipLastHexDigit(GENESIS_CHAIN), log)).toBe(1);
  });

  it('names the missing seq of a gap', () => {
    const log = buildLog([
      { key: 'a', op: 'put', value: 1 },
      { key: 'b', op: 'put', value: 2 },
      { key: 'a', op: 'delete' },
      { key: 'c', op: 'put', value: 3 },
    ]);

    expect(firstChainBreak(0, GENESIS_CHAIN, log.filter((entry) => entry.seq !== 3))).toBe(3);
  });

  it('names the missing seq of any gap', () => {
    fc.assert(
      fc.property(fc.array(updateArb, { minLength: 2, maxLength: 30 }), fc.nat(), (updates, at) => {
        const log = buildLog(updates);
        const index = at % (log.length - 1);

        expect(firstChainBreak(0, GENESIS_CHAIN, log.filter((_, i) => i !== index))).toBe(index + 1);
      }),
      { numRuns: 200 },
    );
  });
});
