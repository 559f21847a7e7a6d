import { describe, expect, it } from 'vitest';
import { ItemReader } from '#shared/adapters/dynamodb/items.ts';
import { MalformedItemError } from '#shared/adapters/errors.ts';

const TABLE = 'Convergence';
const read = (item: Record<string, unknown>): ItemReader => new ItemReader(TABLE, item);

describe('ItemReader', () => {
  describe('numberSet', () => {
    it('reads a number set as the document client returns it, and an absent one as empty', () => {
      // Act & Assess
      expect(read({ shards: new Set([2, 0]) }).numberSet('shards')).toEqual(new Set([0, 2]));
      expect(read({}).numberSet('shards').size).toBe(0);
    });

    it.each([
      ['a list of numbers', [0, 2]],
      ['a string set', new Set(['0'])],
      ['a number', 2],
    ])('rejects %s, naming the table and attribute', (_case, value) => {
      // Act & Assess
      expect(() => read({ shards: value }).numberSet('shards')).toThrow(new MalformedItemError(TABLE, 'shards', 'is not a number set'));
    });
  });

  describe('numberList', () => {
    it('reads a list of numbers, and an absent one as empty', () => {
      // Act & Assess
      expect(read({ heads: [1400, 1300] }).numberList('heads')).toEqual([1400, 1300]);
      expect(read({}).numberList('heads')).toEqual([]);
    });

    it.each([
      ['a list holding a string', [1400, '1300']],
      ['a number set', new Set([1400])],
      ['a string', '1400'],
    ])('rejects %s', (_case, value) => {
      // Act & Assess
      expect(() => read({ heads: value }).numberList('heads')).toThrow(new MalformedItemError(TABLE, 'heads', 'is not a list of numbers'));
    });
  });

  describe('optionalMap', () => {
    it('reads a map with the same checks, naming the map’s attribute by its own name, and an absent one as undefined', () => {
      // Prepare
      const newest = read({ newest: { interval: 7, converged: 'yes' } }).optionalMap('newest');

      // Act & Assess
      expect(newest?.number('interval')).toBe(7);
      expect(() => newest?.boolean('converged')).toThrow(new MalformedItemError(TABLE, 'converged', 'is not a boolean'));
      expect(read({}).optionalMap('newest')).toBeUndefined();
    });

    it.each([
      ['a list', [{ interval: 7 }]],
      ['a set', new Set([7])],
      ['binary', new Uint8Array([7])],
      ['null', null],
      ['a number', 7],
    ])('rejects %s', (_case, value) => {
      // Act & Assess
      expect(() => read({ newest: value }).optionalMap('newest')).toThrow(new MalformedItemError(TABLE, 'newest', 'is not a map'));
    });
  });

  describe('optionalOneOf', () => {
    const REASONS = ['left-window', 'plan-incomplete'] as const;

    it('reads one of the allowed strings, and an absent attribute as undefined', () => {
      // Act & Assess
      expect(read({ reason: 'plan-incomplete' }).optionalOneOf('reason', REASONS)).toBe('plan-incomplete');
      expect(read({}).optionalOneOf('reason', REASONS)).toBeUndefined();
    });

    it('rejects a string that is not allowed, listing the allowed ones, and a value that is not a string', () => {
      // Act & Assess
      expect(() => read({ reason: 'Left-Window' }).optionalOneOf('reason', REASONS)).toThrow(new MalformedItemError(TABLE, 'reason', 'must be one of left-window, plan-incomplete'));
      expect(() => read({ reason: 1 }).optionalOneOf('reason', REASONS)).toThrow(new MalformedItemError(TABLE, 'reason', 'is not a string'));
    });
  });
});
