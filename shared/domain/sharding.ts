/**
 * How one interval's work is cut across Lambda invocations (DESIGN §5, step 2): the Nodes table is
 * read as B parallel-Scan segments, and S shards each take a contiguous range of them.
 *
 * - B (segments) follows the fleet: a power of two with about `nodesPerSegment` nodes each, so that
 *   one segment's plan record (its ledger, segment-plan.ts) stays far below DynamoDB's 400 KB item
 *   limit. It changes only when the fleet doubles, or shrinks to a quarter: each change costs one
 *   interval in which every segment reads the ledgers of the old segments that cover it.
 * - S (shards) follows the CPU budget: `nodesPerShard` nodes per invocation (bench/parts/planner.ts
 *   measures what one invocation plans in half an interval), at most B, or the configured count.
 *
 * A segment of a parallel Scan is a range of the partition key's hash: with B a power of two,
 * segment g of B is exactly segments 2g and 2g+1 of 2B (DynamoDB Local does this; the first
 * interval after a change of B relies on it only to find a node's history, see coveringSegments).
 */

/** The most segments: 8,192 × 2,000 nodes is a 16-million-node fleet. */
export const MAX_SEGMENTS = 8_192;

export interface ShardingRules {
  /** Nodes one shard plans or judges within half an interval (the CPU budget of one invocation). */
  readonly nodesPerShard: number;
  /** Nodes per parallel-Scan segment, and so per plan record. */
  readonly nodesPerSegment: number;
  /** A fixed shard count, or 0 to derive it from the fleet. */
  readonly shards: number;
}

/** The cut of one interval: fixed in its plan header, so every run and shard of it agrees. */
export interface Sharding {
  readonly shards: number;
  readonly segments: number;
}

/** The smallest power of two ≥ n (n ≥ 1). */
function powerOfTwoAtLeast(n: number): number {
  let power = 1;
  while (power < n) power *= 2;
  return power;
}

/**
 * S and B for a fleet of `fleetSize` Nodes items, given the B of the previous interval (its plan
 * header), so B moves only when the fleet has doubled or shrunk to a quarter.
 */
export function shardingFor(fleetSize: number, rules: ShardingRules, previousSegments?: number): Sharding {
  const nodes = Math.max(1, fleetSize);
  const wanted = rules.shards > 0 ? rules.shards : Math.ceil(nodes / rules.nodesPerShard);
  const target = Math.min(MAX_SEGMENTS, Math.max(powerOfTwoAtLeast(Math.ceil(nodes / rules.nodesPerSegment)), powerOfTwoAtLeast(wanted)));
  const keep = previousSegments !== undefined && target <= previousSegments && target > previousSegments / 4 && previousSegments >= wanted;
  const segments = keep ? previousSegments : target;
  return { segments, shards: Math.max(1, Math.min(wanted, segments)) };
}

/** The segments shard s of S scans: a contiguous range, every segment in exactly one shard. */
export function segmentsOfShard(shard: number, { shards, segments }: Sharding): readonly number[] {
  const first = Math.floor((shard * segments) / shards);
  const end = Math.floor(((shard + 1) * segments) / shards);
  return Array.from({ length: end - first }, (_, offset) => first + offset);
}

/**
 * The segments of a parallel Scan of `previousSegments` that hold the hash range of segment g of
 * `segments` (both powers of two): where g's nodes had their history before B changed.
 */
export function coveringSegments(segment: number, segments: number, previousSegments: number): readonly number[] {
  if (previousSegments === segments) return [segment];
  if (previousSegments < segments) return [Math.floor((segment * previousSegments) / segments)];
  const per = previousSegments / segments;
  return Array.from({ length: per }, (_, offset) => segment * per + offset);
}
