/**
 * `microbatch advise --html FILE`: one self-contained page (inline CSS and SVG, no script) that
 * draws worst-case staleness and monthly cost against t (at the recommended b) and against b (at
 * the recommended t), with the lag target, the infeasible points and the recommendation marked.
 * Drawn with the report's chart kit and `html` tag; pure.
 */
import { scaleLinear } from 'd3-scale';
import { axes, coordinate, emptyChartNote, linePath, type Frame, type Plot, type Point } from '#local/report/chart-kit.ts';
import { compact } from '#local/report/format.ts';
import { html, htmlPage, type Markup } from '#local/report/markup.ts';
import { STYLESHEET } from '#local/report/stylesheet.ts';
import type { AdviseInput, PointAnalysis } from './model.ts';
import { describePrices, PRICE_SOURCE } from './prices.ts';
import type { Advice } from './recommend.ts';

const FRAME: Frame = { width: 560, height: 300, top: 24, right: 20, bottom: 48, left: 64 };

/** One curve: its points in plot units (x is a position in the grid), and which are feasible or recommended. */
interface Curve {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly points: readonly { readonly x: number; readonly y: number | null; readonly feasible: boolean; readonly chosen: boolean }[];
  readonly xTickLabel?: (tick: number) => string;
  /** A horizontal reference line (the lag target). */
  readonly reference?: { readonly y: number; readonly label: string };
}

function plotFor(curve: Curve): Plot {
  const xs = curve.points.map((point) => point.x);
  const first = Math.min(...xs);
  const last = Math.max(...xs);
  const ys = curve.points.flatMap((point) => (point.y === null ? [] : [point.y]));
  const top = Math.max(curve.reference?.y ?? 0, ...ys, 0);
  const y = scaleLinear()
    .domain([0, top > 0 ? top * 1.05 : 1])
    .nice(5)
    .range([FRAME.height - FRAME.bottom, FRAME.top]);
  return {
    frame: FRAME,
    x: scaleLinear().domain([first, last === first ? first + 1 : last]).range([FRAME.left, FRAME.width - FRAME.right]),
    y,
    first,
    last,
    yTicks: y.ticks(5),
  };
}

function chart(curve: Curve): Markup {
  const drawn = curve.points.filter((point): point is Curve['points'][number] & { readonly y: number } => point.y !== null);
  if (drawn.length === 0) {
    return html`<svg id="${curve.id}" class="chart" viewBox="0 0 ${FRAME.width} ${FRAME.height}" role="img"><title>${curve.title}</title>${emptyChartNote(FRAME, 'No node converges here')}</svg>`;
  }
  const plot = plotFor(curve);
  const line: Point[] = drawn.map((point) => [point.x, point.y]);
  const reference = curve.reference;
  return html`<svg id="${curve.id}" class="chart" viewBox="0 0 ${FRAME.width} ${FRAME.height}" role="img" aria-labelledby="${curve.id}-title">
<title id="${curve.id}-title">${curve.title}</title>
${axes(plot, curve.xLabel, curve.yLabel, curve.xTickLabel)}
${
  reference !== undefined &&
  html`<g class="marker marker-bound"><line x1="${coordinate(FRAME.left)}" x2="${coordinate(FRAME.width - FRAME.right)}" y1="${coordinate(plot.y(reference.y))}" y2="${coordinate(plot.y(reference.y))}"/><text x="${coordinate(FRAME.width - FRAME.right - 4)}" y="${coordinate(plot.y(reference.y) - 6)}" text-anchor="end">${reference.label}</text></g>`
}
<path class="line" d="${linePath(line, plot.x, plot.y)}" stroke="#0969da"/>
${drawn.map(
  (point) =>
    html`<circle class="${point.chosen ? 'chosen' : point.feasible ? 'feasible' : 'infeasible'}" cx="${coordinate(plot.x(point.x))}" cy="${coordinate(plot.y(point.y))}" r="${point.chosen ? 6 : 4}" fill="${point.feasible ? '#0969da' : '#ffffff'}" stroke="${point.chosen ? '#1a7f37' : '#0969da'}" stroke-width="${point.chosen ? 3 : 1.5}"/>`,
)}
</svg>`;
}

const MONEY = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });

/**
 * The grid's values sit evenly along x (an ordinal axis), labelled with their values: t runs from
 * 60 s to an hour and b from 1 to 10,000, so a linear axis would crowd the interesting end.
 */
function ordinal(values: readonly number[]): { readonly at: (value: number) => number; readonly label: (tick: number) => string } {
  return { at: (value) => values.indexOf(value), label: (tick) => compact(values[tick] ?? Number.NaN) };
}

/** The page for an analysis. */
export function renderAdvicePage(input: AdviseInput, advice: Advice): string {
  const chosen = advice.recommendation.point;
  const fixedB = chosen?.batchSize ?? 100;
  const fixedT = chosen?.intervalSeconds ?? advice.grid.intervals[0] ?? 60;
  const byT = advice.points.filter((point) => point.batchSize === fixedB);
  const byB = advice.points.filter((point) => point.intervalSeconds === fixedT);
  const tAxis = ordinal(advice.grid.intervals);
  const bAxis = ordinal(advice.grid.batchSizes);
  const mark = (point: PointAnalysis): { readonly feasible: boolean; readonly chosen: boolean } => ({ feasible: point.feasible, chosen: point === chosen });
  const target = input.targetLagSeconds === null ? {} : { reference: { y: input.targetLagSeconds, label: `target ${compact(input.targetLagSeconds)} s` } };
  const tLabel = `t, interval (s), at b = ${fixedB}`;
  const bLabel = `b, updates per microbatch, at t = ${fixedT} s`;
  const lagAt = (p: PointAnalysis) => p.maxLagSeconds;
  const costAt = (p: PointAnalysis) => p.monthly.totalUsd;
  const charts = [
    chart({ id: 'lag-by-interval', title: 'Worst staleness against t', xLabel: tLabel, yLabel: 'staleness (s)', points: byT.map((p) => ({ x: tAxis.at(p.intervalSeconds), y: lagAt(p), ...mark(p) })), xTickLabel: tAxis.label, ...target }),
    chart({ id: 'cost-by-interval', title: 'Monthly cost against t', xLabel: tLabel, yLabel: 'USD per month', points: byT.map((p) => ({ x: tAxis.at(p.intervalSeconds), y: costAt(p), ...mark(p) })), xTickLabel: tAxis.label }),
    chart({ id: 'lag-by-batch', title: 'Worst staleness against b', xLabel: bLabel, yLabel: 'staleness (s)', points: byB.map((p) => ({ x: bAxis.at(p.batchSize), y: lagAt(p), ...mark(p) })), xTickLabel: bAxis.label, ...target }),
    chart({ id: 'cost-by-batch', title: 'Monthly cost against b', xLabel: bLabel, yLabel: 'USD per month', points: byB.map((p) => ({ x: bAxis.at(p.batchSize), y: costAt(p), ...mark(p) })), xTickLabel: bAxis.label }),
  ];
  const heading = chosen === null ? 'No (t, b) meets every limit' : `Recommended: t = ${chosen.intervalSeconds} s, b = ${chosen.batchSize}`;
  const page = htmlPage(html`microbatch advise — ${heading}`, STYLESHEET, html`<p class="eyebrow">microbatch advise · ${input.nodes.length} nodes · ingest ${compact(input.ingestRate)}/s · ${input.targetLagSeconds === null ? 'no lag target' : `target ${compact(input.targetLagSeconds)} s`}</p>
<h1>${heading}</h1>
<div class="card">${advice.recommendation.reasons.map((reason) => html`<p>${reason}</p>`)}</div>
<div class="row"><div class="card">${charts[0]}</div><div class="card">${charts[1]}</div></div>
<div class="row"><div class="card">${charts[2]}</div><div class="card">${charts[3]}</div></div>
<p class="hint">Filled points meet every limit, hollow ones break at least one; the ringed point is the recommendation. Staleness: t plus the node's apply time (worst case over the converging nodes).</p>
<div class="card"><h2>Prices used</h2><p class="hint">${PRICE_SOURCE.region}, ${PRICE_SOURCE.kind}, as of ${PRICE_SOURCE.takenOn}</p>
<div class="table-wrap"><table><thead><tr><th>key</th><th>price</th><th>USD</th><th>unit</th><th>taken on</th></tr></thead><tbody>${describePrices(input.prices).map(
    (price) => html`<tr><td><code>${price.key}</code></td><td>${price.name}${price.overridden ? ' (overridden)' : ''}</td><td>${String(price.usd)}</td><td>${price.unit}</td><td>${price.takenOn}</td></tr>`,
  )}</tbody></table></div></div>
${
  chosen !== null &&
  html`<div class="card"><h2>Limits at the recommendation (${MONEY.format(chosen.monthly.totalUsd)}/month)</h2><ul>${chosen.limits.map(
    (limit) => html`<li class="${limit.ok ? 'ok-text' : 'bad-text'}"><code>${limit.key}</code> ${limit.detail}</li>`,
  )}</ul></div>`
}`);
  return page.text;
}
