/**
 * The advisor's answer: every (t, b) of a grid analysed, the feasible region, and one recommended
 * point with the reasons for it. Pure.
 */
import { plural } from '#local/counts.ts';
import { analyzePoint, type AdviseInput, type PointAnalysis } from './model.ts';
import { LIMIT_REMEDIES, type LimitKey } from './limits.ts';

/** Intervals tried: whole minutes for a stack (Scheduler), seconds too for the local runtime. */
export const CLOUD_INTERVALS = [60, 120, 180, 300, 600, 900, 1200, 1800, 3600] as const;
export const LOCAL_INTERVALS = [1, 2, 5, 10, 15, 30, ...CLOUD_INTERVALS] as const;
/** Microbatch sizes tried: 1, 2, 5 × 10ⁿ up to the setting's 10,000. */
export const BATCH_SIZES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000] as const;

/**
 * Points whose cost is within this share of the cheapest count as equally cheap; among them the
 * least staleness wins (half the lag for 1 % more is worth it), then the smaller b (a lost or
 * retried microbatch redoes less).
 */
const COST_TIE = 0.01;

export interface Recommendation {
  /** The recommended point, or null when no point of the grid meets every limit. */
  readonly point: PointAnalysis | null;
  /** Whether the point also meets the target lag (else it is the least-lag feasible point). */
  readonly meetsTargetLag: boolean;
  /** Why, in sentences. */
  readonly reasons: readonly string[];
}

export interface Advice {
  readonly grid: { readonly intervals: readonly number[]; readonly batchSizes: readonly number[] };
  readonly points: readonly PointAnalysis[];
  readonly recommendation: Recommendation;
}

const MONEY = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });
const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** The limits that rule out the most points of the grid, most first: what to relax for more room. */
function blockingLimits(points: readonly PointAnalysis[]): readonly { readonly key: LimitKey; readonly points: number }[] {
  const counts = new Map<LimitKey, number>();
  for (const point of points) for (const limit of point.limits) if (!limit.ok) counts.set(limit.key, (counts.get(limit.key) ?? 0) + 1);
  return [...counts.entries()].map(([key, count]) => ({ key, points: count })).sort((a, b) => b.points - a.points);
}

function cheapest(points: readonly PointAnalysis[], byLag: boolean): PointAnalysis | undefined {
  const floor = Math.min(...points.map((point) => point.monthly.totalUsd));
  const near = points.filter((point) => point.monthly.totalUsd <= floor * (1 + COST_TIE) + 1e-9);
  // Whole seconds: a few milliseconds of apply time must not outweigh a smaller b.
  const lag = (point: PointAnalysis): number => (point.maxLagSeconds === null ? Number.POSITIVE_INFINITY : Math.round(point.maxLagSeconds));
  return [...(byLag ? points : near)].sort((a, b) => lag(a) - lag(b) || a.batchSize - b.batchSize || a.monthly.totalUsd - b.monthly.totalUsd)[0];
}

/** What moving away from the chosen point would cost: a longer t, a larger b. */
function tradeOffs(chosen: PointAnalysis, points: readonly PointAnalysis[]): readonly string[] {
  const sentences: string[] = [];
  const longer = points
    .filter((point) => point.batchSize === chosen.batchSize && point.intervalSeconds > chosen.intervalSeconds)
    .sort((a, b) => a.intervalSeconds - b.intervalSeconds)[0];
  if (longer !== undefined) {
    const broken = longer.limits.filter((limit) => !limit.ok).map((limit) => limit.key);
    const lag = longer.maxLagSeconds === null ? 'no convergence' : `${NUMBER.format(longer.maxLagSeconds)} s staleness`;
    const saving = MONEY.format(Math.max(0, chosen.monthly.totalUsd - longer.monthly.totalUsd));
    sentences.push(
      broken.length > 0
        ? `t = ${longer.intervalSeconds} s would break ${broken.join(', ')}.`
        : longer.meetsTargetLag
          ? `t = ${longer.intervalSeconds} s would save only ${saving}/month (within ${Math.round(COST_TIE * 100)} %) at ${lag}.`
          : `t = ${longer.intervalSeconds} s would cost ${MONEY.format(longer.monthly.totalUsd)}/month but means ${lag}, over the target.`,
    );
  }
  const larger = points
    .filter((point) => point.intervalSeconds === chosen.intervalSeconds && point.batchSize > chosen.batchSize)
    .sort((a, b) => a.batchSize - b.batchSize)[0];
  if (larger !== undefined) {
    const broken = larger.limits.filter((limit) => !limit.ok).map((limit) => limit.key);
    sentences.push(
      broken.length > 0
        ? `b = ${larger.batchSize} would break ${broken.join(', ')}.`
        : !larger.meetsTargetLag
          ? `b = ${larger.batchSize} would miss the lag target.`
          : `b = ${larger.batchSize} would save only ${MONEY.format(Math.max(0, chosen.monthly.totalUsd - larger.monthly.totalUsd))}/month (within ${Math.round(COST_TIE * 100)} %) while making every lost or retried microbatch bigger.`,
    );
  }
  return sentences;
}

/** The first five of a list of nodes, then "…". */
function someOf(nodes: readonly string[]): string {
  return `${nodes.slice(0, 5).join(', ')}${nodes.length > 5 ? ', …' : ''}`;
}

/**
 * Which nodes converge at the chosen point, in one sentence: each that does not, with its share (and
 * whether it only equals the ingest), or that every node does. The lag target ignores the others.
 */
function convergenceNote(input: AdviseInput, point: PointAnalysis): string {
  const t = point.intervalSeconds;
  const ingest = point.ingestPerInterval;
  const never = point.nodes.filter((node) => !node.canConverge);
  if (never.length === 0) return `Every node converges at t = ${t} s: each share ceil(r·t) exceeds the ${NUMBER.format(ingest)} ingested per interval.`;
  const named = never.map((node) => `${node.nodeId} (share ${NUMBER.format(node.share)}${node.share === ingest ? ' = the ingest' : ''})`);
  return [
    `${plural(never.length, 'node')} never ${never.length === 1 ? 'converges' : 'converge'} at t = ${t} s under the ingest of ${NUMBER.format(input.ingestRate)}/s (${NUMBER.format(ingest)} per interval): ${someOf(named)}.`,
    ' A node converges only when its share ceil(r·t) exceeds the ingest per interval',
    never.some((node) => node.share === ingest) ? '; one whose share equals it keeps pace but never works off a backlog.' : '.',
    never.length === 1 ? ' Raise its rate.' : ' Raise their rate.',
    never.length === point.nodes.length ? '' : input.targetLagSeconds === null ? ' Staleness is judged on the other nodes.' : ' The lag target is judged on the other nodes.',
  ].join('');
}

/** Picks the cheapest feasible point that meets the target lag; says why, and what is wrong when none does. */
export function recommend(input: AdviseInput, points: readonly PointAnalysis[]): Recommendation {
  const feasible = points.filter((point) => point.feasible);
  if (feasible.length === 0) {
    const blocking = blockingLimits(points).slice(0, 3);
    const neverAnywhere = input.nodes.map((node) => node.nodeId).filter((nodeId) => points.every((point) => point.neverConverging.includes(nodeId)));
    return {
      point: null,
      meetsTargetLag: false,
      reasons: [
        `No (t, b) of the grid meets every limit. The limits that rule out most points: ${blocking.map((limit) => `${limit.key} (${limit.points} of ${points.length})`).join(', ')}.`,
        ...blocking.slice(0, 1).map((limit) => `For ${limit.key}: ${LIMIT_REMEDIES[limit.key]}.`),
        ...(neverAnywhere.length === 0
          ? []
          : [
              `${plural(neverAnywhere.length, 'node')} never ${neverAnywhere.length === 1 ? 'converges' : 'converge'} at any t of the grid under the ingest of ${NUMBER.format(input.ingestRate)}/s — ${someOf(neverAnywhere)}: ` +
                (neverAnywhere.length === 1 ? 'its share ceil(r·t) never exceeds the ingest per interval; raise its rate.' : 'their share ceil(r·t) never exceeds the ingest per interval; raise their rate.'),
            ]),
      ],
    };
  }
  if (feasible.every((point) => point.maxLagSeconds === null)) {
    // Staleness means nothing here: the cheapest point, and the rates to raise.
    const chosen = cheapest(feasible, false);
    if (chosen === undefined) return { point: null, meetsTargetLag: false, reasons: [] };
    return {
      point: chosen,
      meetsTargetLag: false,
      reasons: [
        `No node converges at any (t, b) of the grid: t = ${chosen.intervalSeconds} s, b = ${chosen.batchSize} is the cheapest point that meets every limit (${MONEY.format(chosen.monthly.totalUsd)}/month), but no lag target holds until a node's share exceeds the ingest.`,
        convergenceNote(input, chosen),
      ],
    };
  }
  const meeting = feasible.filter((point) => point.meetsTargetLag);
  const chosen = meeting.length > 0 ? cheapest(meeting, false) : cheapest(feasible, true);
  if (chosen === undefined) return { point: null, meetsTargetLag: false, reasons: [] };
  const lag = chosen.maxLagSeconds === null ? 'no node converges' : `${NUMBER.format(chosen.maxLagSeconds)} s`;
  const why =
    meeting.length > 0
      ? [
          `t = ${chosen.intervalSeconds} s, b = ${chosen.batchSize}: the cheapest (to within ${Math.round(COST_TIE * 100)} %) of the ${meeting.length} points that meet every limit${input.targetLagSeconds === null ? '' : ` and the ${NUMBER.format(input.targetLagSeconds)} s lag target`} (worst staleness ${lag}, ${MONEY.format(chosen.monthly.totalUsd)}/month)${input.targetLagSeconds === null ? '; no lag target was given (--target-lag S sets one)' : ''}.`,
          ...tradeOffs(chosen, points),
        ]
      : [
          `No feasible point meets the ${NUMBER.format(input.targetLagSeconds ?? 0)} s lag target: t = ${chosen.intervalSeconds} s, b = ${chosen.batchSize} has the least worst-case staleness (${lag}, ${MONEY.format(chosen.monthly.totalUsd)}/month). Staleness is at least t plus the apply time, and t is at least ${Math.min(...points.map((point) => point.intervalSeconds))} s here.`,
        ];
  return { point: chosen, meetsTargetLag: meeting.length > 0, reasons: [...why, convergenceNote(input, chosen)] };
}

/** Analyses the grid (and any extra t or b the user asked about) and recommends a point. */
export function advise(input: AdviseInput, extra: { readonly intervalSeconds?: number; readonly batchSize?: number } = {}): Advice {
  const base = input.target === 'cloud' ? CLOUD_INTERVALS : LOCAL_INTERVALS;
  const intervals = [...new Set([...base, ...(extra.intervalSeconds === undefined ? [] : [extra.intervalSeconds])])].sort((a, b) => a - b);
  const batchSizes = [...new Set([...BATCH_SIZES, ...(extra.batchSize === undefined ? [] : [extra.batchSize])])].sort((a, b) => a - b);
  const points = intervals.flatMap((t) => batchSizes.map((b) => analyzePoint(input, t, b)));
  return { grid: { intervals, batchSizes }, points, recommendation: recommend(input, points) };
}
