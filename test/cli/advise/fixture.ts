/**
 * The advisor's input for its tests: the brief's example — three nodes of 2, 5 and 10 updates/s
 * under 4 updates/s of ingest, a 180 s lag target, a 2,400-update backlog, a stack's limits, the
 * default cut (one shard per 50,000 nodes, 2,000 nodes a segment) and the default prices — with
 * `changes` on top.
 */
import { DEFAULT_WORKLOAD, type AdviseInput } from '#cli/advise/model.ts';
import { pricesWith } from '#cli/advise/prices.ts';

export function threeNodes(changes: Partial<AdviseInput> = {}): AdviseInput {
  return {
    nodes: [
      { nodeId: 'n-1', rate: 2 },
      { nodeId: 'n-2', rate: 5 },
      { nodeId: 'n-3', rate: 10 },
    ],
    ingestRate: 4,
    targetLagSeconds: 180,
    backlogUpdates: 2_400,
    target: 'cloud',
    workload: DEFAULT_WORKLOAD,
    applier: { timeoutSeconds: 60, maxConcurrency: 10 },
    sharding: { nodesPerShard: 50_000, nodesPerSegment: 2_000, shards: 0 },
    prices: pricesWith([]),
    ...changes,
  };
}
