import { describe, expect, it } from 'vitest';
import { threeNodes } from './fixture.ts';
import { advise, BATCH_SIZES, CLOUD_INTERVALS, LOCAL_INTERVALS } from '#cli/advise/recommend.ts';

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });


describe('advise', () => {
  it('analyses the whole grid: whole minutes for a stack, seconds too locally', () => {
    expect(advise(threeNodes()).points).toHaveLength(CLOUD_INTERVALS.length * BATCH_SIZES.length);
    expect(advise(threeNodes({ target: 'local' })).grid.intervals).toEqual([...LOCAL_INTERVALS]);
  });

  it('adds the t and b asked about to the grid', () => {
    const advice = advise(threeNodes(), { intervalSeconds: 240, batchSize: 150 });
    expect(advice.grid.intervals).toContain(240);
    expect(advice.grid.batchSizes).toContain(150);
  });

  it('recommends the cheapest point that meets the target lag, preferring less lag and a smaller b within 1 %', () => {
    // The 3-node case (2, 5, 10 /s under 4/s, target 180 s). Staleness is t + apply time, so t = 180
    // (180.x s) misses the target and t ≤ 120 meets it. The write units (replica and ingest) cost
    // ~$29.6 a month whatever t and b are; what t and b change is the rest. Per interval, besides
    // the tokens, the ticks cost the same at any t: 5 + 12 RRU, 3 + 14 WRU, 4 invocations,
    // 0.05 + 0.38079453 GB-s, 2 schedules, and on the task queues 6 + 2 × ceil(t / 20) requests —
    // so a shorter t pays them more often. At t = 120 s:
    //   b ≥ 500 (one token per node, 3 tokens, 1 SendMessageBatch): per interval
    //     FIFO 1 + (1 + 6) + 1 = 9 requests, standard 6 + 12 = 18, Lambda 5 invocations;
    //     apply 3 × 30 ms + (240 + 480 + 480) × 0.5 ms + 0.005 = 0.695 s → 0.43079453 + 0.3475 GB-s;
    //     RRU 3 node reads + Log (n-1: 240 × 256 B = 15 units; n-2, n-3: 480 × 256 B = 30 each) + 17 = 95;
    //     WRU 1,200 replica + 3 cursor + 17 + 960 ingest = 2,180.
    //     Per month (21,900 intervals): 9 × 0.5 + 18 × 0.4 + 5 × 0.2 + 95 × 0.125 + 2,180 × 0.625 + 2 × 1
    //     = 1,389.075 $/M × 21,900 = $30.42074; GB-s 0.77829453 × 21,900 × $0.0000133334 = $0.22726
    //     → $30.64801, the cheapest point meeting the target;
    //   b = 100 (3 + 5 + 5 = 13 tokens, 2 SendMessageBatch): FIFO 2 + 8 + 2 = 12, standard 18, Lambda 6;
    //     apply 13 × 30 ms + 600 ms + 2 × 5 ms = 1.0 s → 0.93079453 GB-s; RRU 13 node reads + Log
    //     (n-1: 2 × 7 + one of 40 × 256 B = 3 → 17; n-2, n-3: 4 × 7 + one of 80 × 256 B = 5 → 33 each)
    //     + 17 = 113; WRU 1,200 + 13 + 17 + 960 = 2,190.
    //     (12 × 0.5 + 18 × 0.4 + 6 × 0.2 + 113 × 0.125 + 2,190 × 0.625 + 2) $/M × 21,900 = $30.64413;
    //     GB-s 0.93079453 × 21,900 × $0.0000133334 = $0.27179 → $30.91592.
    //   Within 1 % of $30.64801 (≤ $30.95449): t = 120 with b = 100, 200, 500, … — all at a staleness
    //   of 120 s in whole seconds — but not b = 50 at t = 120 ($31.23639), nor t = 60 (at best
    //   $31.27002, b ≥ 500). Among them the smallest b: 100.
    const advice = advise(threeNodes());
    const { point, meetsTargetLag, reasons } = advice.recommendation;
    expect(point?.intervalSeconds).toBe(120);
    expect(point?.batchSize).toBe(100);
    expect(point?.monthly.totalUsd).toBeCloseTo(30.91592, 4);
    expect(meetsTargetLag).toBe(true);
    const cheapest = Math.min(...advice.points.filter((candidate) => candidate.feasible && candidate.meetsTargetLag).map((candidate) => candidate.monthly.totalUsd));
    expect(cheapest).toBeCloseTo(30.64801, 4);
    expect(reasons[0]).toMatch(/^t = 120 s, b = 100: the cheapest \(to within 1 %\)/);
    expect(reasons.some((reason) => /t = 180 s would cost .* over the target/.test(reason))).toBe(true);
    // n-1 (2/s under 4/s) never converges at any t: named, and left out of the lag target.
    expect(reasons.at(-1)).toBe(
      '1 node never converges at t = 120 s under the ingest of 4/s (480 per interval): n-1 (share 240). A node converges only when its share ceil(r·t) exceeds the ingest per interval. Raise its rate. The lag target is judged on the other nodes.',
    );
  });

  it('picks the least staleness when no feasible point meets the target, and says so', () => {
    // 30 s is below t's own 60 s minimum in the cloud: unreachable.
    const { point, meetsTargetLag, reasons } = advise(threeNodes({ targetLagSeconds: 30 })).recommendation;
    expect(meetsTargetLag).toBe(false);
    expect(point?.intervalSeconds).toBe(60);
    expect(reasons[0]).toMatch(/^No feasible point meets the 30 s lag target: t = 60 s/);
  });

  it('takes the cheapest point within 1 %, the least stale among them, when there is no lag target', () => {
    // Act
    const advice = advise(threeNodes({ targetLagSeconds: null }));

    // Assess
    const { point, meetsTargetLag } = advice.recommendation;
    expect(advice.points.every((candidate) => candidate.meetsTargetLag === (candidate.maxLagSeconds !== null))).toBe(true);
    expect(meetsTargetLag).toBe(true);
    const floor = Math.min(...advice.points.filter((candidate) => candidate.feasible).map((candidate) => candidate.monthly.totalUsd));
    expect(point?.monthly.totalUsd).toBeLessThanOrEqual(floor * 1.01 + 1e-9);
  });

  it('reaches a 30 s target locally, where t may be shorter', () => {
    const { point, meetsTargetLag } = advise(threeNodes({ targetLagSeconds: 30, target: 'local' })).recommendation;
    expect(meetsTargetLag).toBe(true);
    expect(point?.intervalSeconds).toBeLessThan(30);
  });

  it('recommends nothing when every point breaks a limit, and names the limit', () => {
    // One node of 2,000/s writes 2,000 WCU/s to its replica's one partition at any t and b.
    const { point, reasons } = advise(threeNodes({ nodes: [{ nodeId: 'hot', rate: 2_000 }], ingestRate: 1 })).recommendation;
    expect(point).toBeNull();
    expect(reasons[0]).toMatch(/^No \(t, b\) of the grid meets every limit\. .*replicaPartitionWrites \(117 of 117\)/);
    expect(reasons[1]).toMatch(/^For replicaPartitionWrites: no t or b helps: lower that node’s rate below 1,000 updates\/s/);
  });

  it('names the nodes that converge at no t of the grid when no point meets every limit', () => {
    // Prepare: the 2,000/s node breaks the replica partition limit everywhere; 0.5/s under 1/s takes
    // half the ingest at any t.
    const input = threeNodes({ nodes: [{ nodeId: 'hot', rate: 2_000 }, { nodeId: 'slow', rate: 0.5 }], ingestRate: 1 });

    // Act
    const { point, reasons } = advise(input).recommendation;

    // Assess
    expect(point).toBeNull();
    expect(reasons.at(-1)).toBe('1 node never converges at any t of the grid under the ingest of 1/s — slow: its share ceil(r·t) never exceeds the ingest per interval; raise its rate.');
  });

  it('marks every point as missing the target when no node can converge', () => {
    const advice = advise(threeNodes({ nodes: [{ nodeId: 'slow', rate: 1 }] }));
    expect(advice.points.every((point) => point.maxLagSeconds === null && !point.meetsTargetLag)).toBe(true);
    expect(advice.recommendation.meetsTargetLag).toBe(false);
    expect(advice.recommendation.reasons.at(-1)).toMatch(/slow/);
  });
});

describe('advise, nodes at the edge of convergence', () => {
  const fleet = (...rates: number[]) => rates.map((rate, index) => ({ nodeId: `node-${index + 1}`, rate }));

  it('does not recommend a point as meeting the target when every node only keeps pace with the ingest', () => {
    // Prepare: three nodes of 1/s under 1/s of ingest: at every t of the grid each share ceil(1·t)
    // equals the t ingested per interval, so none ever works off a backlog.
    const input = threeNodes({ nodes: fleet(1, 1, 1), ingestRate: 1, targetLagSeconds: 300 });

    // Act
    const advice = advise(input);

    // Assess
    expect(advice.points.every((point) => point.neverConverging.length === 3 && !point.meetsTargetLag)).toBe(true);
    const { point, meetsTargetLag, reasons } = advice.recommendation;
    expect(meetsTargetLag).toBe(false);
    expect(reasons[0]).toMatch(/^No node converges at any \(t, b\) of the grid: t = \d+ s, b = \d+ is the cheapest point that meets every limit/);
    expect(reasons.join('\n')).not.toMatch(/Every node converges|meet every limit and the 300 s lag target/);
    const t = NUMBER.format(point?.intervalSeconds ?? 0);
    expect(reasons.at(-1)).toBe(
      `3 nodes never converge at t = ${point?.intervalSeconds} s under the ingest of 1/s (${t} per interval): node-1 (share ${t} = the ingest), node-2 (share ${t} = the ingest), node-3 (share ${t} = the ingest). ` +
        'A node converges only when its share ceil(r·t) exceeds the ingest per interval; one whose share equals it keeps pace but never works off a backlog. Raise their rate.',
    );
  });

  it('names a node whose share equals the ingest per interval beside one whose share is below it', () => {
    // Prepare: the fleet, 0.5, 1 and 50/s under 1/s: at any t of a stack node-1 takes t/2,
    // node-2 exactly the t ingested, node-3 50·t.
    const input = threeNodes({ nodes: fleet(0.5, 1, 50), ingestRate: 1, targetLagSeconds: 60 });

    // Act
    const { point, reasons } = advise(input).recommendation;

    // Assess
    const t = point?.intervalSeconds ?? 0;
    expect(reasons.at(-1)).toBe(
      `2 nodes never converge at t = ${t} s under the ingest of 1/s (${t} per interval): node-1 (share ${t / 2}), node-2 (share ${t} = the ingest). ` +
        'A node converges only when its share ceil(r·t) exceeds the ingest per interval; one whose share equals it keeps pace but never works off a backlog. Raise their rate. The lag target is judged on the other nodes.',
    );
  });

  it('says every node converges when every share exceeds the ingest per interval', () => {
    // Prepare: 5 and 10/s under 4/s.
    const input = threeNodes({ nodes: fleet(5, 10) });

    // Act
    const { point, reasons } = advise(input).recommendation;

    // Assess
    expect(reasons.at(-1)).toBe(`Every node converges at t = ${point?.intervalSeconds} s: each share ceil(r·t) exceeds the ${4 * (point?.intervalSeconds ?? 0)} ingested per interval.`);
  });
});
