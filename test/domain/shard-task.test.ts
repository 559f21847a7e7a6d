import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors.ts';
import { parseTask, retryDelaySeconds, serializeTask, type CheckTask, type PlanTask } from '#shared/domain/shard-task.ts';

const PLAN: PlanTask = {
  v: 1,
  kind: 'plan',
  stream: 'main',
  interval: 29_929_578,
  plannedAt: '2026-11-27T10:18:00.000Z',
  head: 1_000,
  shards: 4,
  segments: 16,
  previousSegments: 8,
  shard: 3,
};
const CHECK: CheckTask = {
  v: 1,
  kind: 'check',
  stream: 'main',
  interval: 29_929_579,
  checkedAt: '2026-11-27T10:19:00.000Z',
  heads: [1_100, 1_000],
  averageIngestPerInterval: 100,
  shards: 1,
  segments: 1,
  shard: 0,
};

describe('shard tasks', () => {
  it('read back what was sent, for both kinds', () => {
    expect(parseTask(serializeTask(PLAN))).toEqual(PLAN);
    expect(parseTask(serializeTask(CHECK))).toEqual(CHECK);
  });

  it('name every field that is wrong', () => {
    const bad = { ...PLAN, shard: 4, head: -1, plannedAt: 'soon', stream: 'main#x' };
    expect(() => parseTask(JSON.stringify(bad))).toThrow(ValidationError);
    expect(() => parseTask(JSON.stringify(bad))).toThrow(/stream: must be a stream name.*shard: must be a whole number below shards.*plannedAt: must be an ISO 8601 time.*head: must be a whole number ≥ 0/);
    expect(() => parseTask(JSON.stringify({ ...CHECK, heads: [] }))).toThrow(/heads: must be a non-empty list/);
    expect(() => parseTask(JSON.stringify({ ...PLAN, shards: 32 }))).toThrow(/shards: must be a whole number from 1 to segments/);
    expect(() => parseTask('{"v":1')).toThrow('(body): is not JSON');
    expect(() => parseTask('[1]')).toThrow('(body): must be an object');
  });

});

describe('retryDelaySeconds', () => {
  it('waits 5 s, then twice as long at each receive, at most a quarter of t and at least a second', () => {
    expect([1, 2, 3, 4].map((receive) => retryDelaySeconds(receive, 60))).toEqual([5, 10, 15, 15]);
    expect([1, 2, 3, 4, 5, 6, 7].map((receive) => retryDelaySeconds(receive, 3_600))).toEqual([5, 10, 20, 40, 80, 160, 320]);
    expect(retryDelaySeconds(1, 2)).toBe(1);
    expect(retryDelaySeconds(Number.NaN, 60)).toBe(5);
  });
});

