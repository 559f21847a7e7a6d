import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coveringSegments, MAX_SEGMENTS, segmentsOfShard, shardingFor } from '#shared/domain/sharding.ts';

const RULES = { nodesPerShard: 50_000, nodesPerSegment: 2_000, shards: 0 };

describe('shardingFor', () => {
  it('cuts a million nodes into 20 shards over 512 segments of under 2,000 nodes', () => {
    expect(shardingFor(1_000_000, RULES)).toEqual({ shards: 20, segments: 512 });
  });

  it('gives a small fleet one shard over one segment, and an empty table the same', () => {
    expect(shardingFor(5, RULES)).toEqual({ shards: 1, segments: 1 });
    expect(shardingFor(0, RULES)).toEqual({ shards: 1, segments: 1 });
  });

  it('takes a fixed shard count over the fleet, with at least as many segments', () => {
    expect(shardingFor(10, { ...RULES, shards: 4 })).toEqual({ shards: 4, segments: 4 });
    expect(shardingFor(10, { ...RULES, shards: 3 })).toEqual({ shards: 3, segments: 4 });
  });

  it('keeps B while the fleet neither doubles nor shrinks to a quarter, so plan records keep their segments', () => {
    // 512 segments for a million nodes; 600,000 nodes want 512 too; 300,000 want 256 — kept; 200,000 want 128 — a quarter: cut anew.
    expect(shardingFor(1_100_000, RULES, 512).segments).toBe(1_024);
    expect(shardingFor(600_000, RULES, 512).segments).toBe(512);
    expect(shardingFor(300_000, RULES, 512).segments).toBe(512);
    expect(shardingFor(200_000, RULES, 512).segments).toBe(128);
  });

  it('never makes more shards than segments, nor more segments than the most a Scan is cut into here', () => {
    fc.assert(
      fc.property(fc.nat({ max: 50_000_000 }), fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 20_000 }), fc.nat({ max: 64 }), (fleet, perShard, perSegment, fixed) => {
        const cut = shardingFor(fleet, { nodesPerShard: perShard, nodesPerSegment: perSegment, shards: fixed });
        expect(cut.shards).toBeGreaterThanOrEqual(1);
        expect(cut.shards).toBeLessThanOrEqual(cut.segments);
        expect(cut.segments).toBeLessThanOrEqual(MAX_SEGMENTS);
        expect(Math.log2(cut.segments) % 1).toBe(0);
      }),
    );
  });
});

describe('segmentsOfShard', () => {
  it('gives every segment to exactly one shard, in contiguous ranges of nearly equal size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 13 }).map((power) => 2 ** power), fc.integer({ min: 1, max: 1_000 }), (segments, wanted) => {
        const shards = Math.min(wanted, segments);
        const ranges = Array.from({ length: shards }, (_, shard) => segmentsOfShard(shard, { shards, segments }));
        expect(ranges.flat()).toEqual(Array.from({ length: segments }, (_, index) => index));
        const sizes = ranges.map((range) => range.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('coveringSegments', () => {
  it('finds the one old segment that holds a new one after B doubled, and both halves after it halved', () => {
    expect(coveringSegments(5, 8, 4)).toEqual([2]);
    expect(coveringSegments(2, 4, 8)).toEqual([4, 5]);
    expect(coveringSegments(3, 16, 16)).toEqual([3]);
    expect(coveringSegments(1, 2, 16)).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
  });
});
