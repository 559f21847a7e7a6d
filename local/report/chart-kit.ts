/**
 * The chart kit: scales, ticks, paths, axes and frames that the report's SVG charts are drawn with.
 * Every coordinate goes through `coordinate`, so the page holds no NaN and no long decimals.
 */
import type { IntervalSample } from '../summary.ts';
import { compact, count } from './format.ts';
import { html, type Markup } from './markup.ts';

/** An SVG coordinate: one decimal is finer than a pixel and keeps the page small. */
export function coordinate(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 10) / 10) : '0';
}

// ─── Scales and paths ────────────────────────────────────────────────────────────────────────────

export type Scale = (value: number) => number;

/** Maps [d0, d1] onto [r0, r1]; a degenerate domain maps everything to the middle of the range. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  if (!(span > 0)) return () => (r0 + r1) / 2;
  return (value) => r0 + ((value - d0) / span) * (r1 - r0);
}

/** The 1, 2 or 5 × 10ⁿ step that cuts `span` into at most about `maxTicks` pieces. */
function niceStep(span: number, maxTicks: number): number {
  if (!(span > 0)) return 1;
  const rough = span / Math.max(1, maxTicks);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const multiple = [1, 2, 5, 10].find((candidate) => candidate * magnitude >= rough) ?? 10;
  return multiple * magnitude;
}

/** A count axis from 0: whole-number ticks and a top rounded up to the last tick. */
function countAxis(maximum: number, maxTicks: number): { readonly top: number; readonly ticks: readonly number[] } {
  const step = Math.max(1, niceStep(Math.max(0, maximum), maxTicks));
  // 4 % headroom keeps a peak off the top edge, where the marker labels are.
  const top = Math.max(step, Math.ceil((Math.max(0, maximum) * 1.04) / step) * step);
  const ticks: number[] = [];
  for (let tick = 0; tick <= top; tick += step) ticks.push(tick);
  return { top, ticks };
}

/** Whole-number interval ticks inside [first, last]; the first interval always gets one. */
function intervalTicks(first: number, last: number, maxTicks: number): readonly number[] {
  const step = Math.max(1, niceStep(last - first, maxTicks));
  const ticks = [first];
  for (let tick = Math.ceil((first + 1) / step) * step; tick <= last; tick += step) {
    if (tick - first >= step / 2) ticks.push(tick);
  }
  return ticks;
}

export type Point = readonly [number, number];

/** `M x,y L x,y …` through the points; an empty string for no points. */
export function linePath(points: readonly Point[], x: Scale, y: Scale): string {
  return points.map(([px, py], position) => `${position === 0 ? 'M' : 'L'}${coordinate(x(px))},${coordinate(y(py))}`).join(' ');
}

/** The line closed down to the baseline, for an area fill. */
export function areaPath(points: readonly Point[], x: Scale, y: Scale, baseline: number): string {
  const first = points[0];
  const last = points.at(-1);
  if (first === undefined || last === undefined) return '';
  const bottom = coordinate(y(baseline));
  return `${linePath(points, x, y)} L${coordinate(x(last[0]))},${bottom} L${coordinate(x(first[0]))},${bottom} Z`;
}

export function finitePoints(samples: readonly IntervalSample[], pick: (sample: IntervalSample) => number | undefined): Point[] {
  const points: Point[] = [];
  for (const sample of samples) {
    const value = pick(sample);
    if (value !== undefined && Number.isFinite(value) && Number.isFinite(sample.index)) points.push([sample.index, value]);
  }
  return points;
}

// ─── Frames and axes ─────────────────────────────────────────────────────────────────────────────

export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  readonly left: number;
}

export interface Plot {
  readonly frame: Frame;
  readonly x: Scale;
  readonly y: Scale;
  readonly first: number;
  readonly last: number;
  readonly yTicks: readonly number[];
}

/** The first and last interval of the run; [1, 1] when none was recorded. */
export function intervalDomain(samples: readonly IntervalSample[]): readonly [number, number] {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const { index } of samples) {
    if (!Number.isFinite(index)) continue;
    first = Math.min(first, index);
    last = Math.max(last, index);
  }
  return first <= last ? [first, last] : [1, 1];
}

/** `padding` widens the x domain by that many intervals each side, so bars centred on the ends fit. */
export function intervalPlot(frame: Frame, samples: readonly IntervalSample[], maximum: number, maxYTicks: number, padding = 0): Plot {
  const [first, last] = intervalDomain(samples);
  // A single interval sits in the middle of the plot rather than on its left edge.
  const pad = first === last ? Math.max(0.5, padding) : padding;
  const { top, ticks } = countAxis(maximum, maxYTicks);
  return {
    frame,
    x: linearScale([first - pad, last + pad], [frame.left, frame.width - frame.right]),
    y: linearScale([0, top], [frame.height - frame.bottom, frame.top]),
    first,
    last,
    yTicks: ticks,
  };
}

/** Grid lines, both axes with ticks, and their labels. */
export function axes(plot: Plot, xLabel: string, yLabel: string): Markup {
  const { frame, x, y } = plot;
  const plotLeft = frame.left;
  const plotRight = frame.width - frame.right;
  const plotBottom = frame.height - frame.bottom;
  const maxXTicks = Math.max(2, Math.floor((plotRight - plotLeft) / 56));
  const xTicks = intervalTicks(plot.first, plot.last, maxXTicks);
  return html`<g class="grid">${plot.yTicks.map(
    (tick) => html`<line x1="${coordinate(plotLeft)}" x2="${coordinate(plotRight)}" y1="${coordinate(y(tick))}" y2="${coordinate(y(tick))}"/>`,
  )}</g>
<g class="axis">
<line x1="${coordinate(plotLeft)}" x2="${coordinate(plotRight)}" y1="${coordinate(plotBottom)}" y2="${coordinate(plotBottom)}"/>
${xTicks.map(
  (tick) => html`<line x1="${coordinate(x(tick))}" x2="${coordinate(x(tick))}" y1="${coordinate(plotBottom)}" y2="${coordinate(plotBottom + 5)}"/><text x="${coordinate(x(tick))}" y="${coordinate(plotBottom + 19)}" text-anchor="middle">${count(tick)}</text>`,
)}
${plot.yTicks.map(
  (tick) => html`<text x="${coordinate(plotLeft - 8)}" y="${coordinate(y(tick) + 4)}" text-anchor="end">${compact(tick)}</text>`,
)}
<text class="axis-label" x="${coordinate((plotLeft + plotRight) / 2)}" y="${coordinate(frame.height - 6)}" text-anchor="middle">${xLabel}</text>
<text class="axis-label" transform="translate(14 ${coordinate((frame.top + plotBottom) / 2)}) rotate(-90)" text-anchor="middle">${yLabel}</text>
</g>`;
}

/** The shaded stretch after the producer's last interval, when it falls inside the chart. */
export function quietBand(plot: Plot, quietAfter: number): Markup | null {
  if (!quietInside(plot, quietAfter)) return null;
  const { frame, x } = plot;
  const start = x(quietAfter);
  return html`<rect class="quiet" x="${coordinate(start)}" y="${coordinate(frame.top)}" width="${coordinate(frame.width - frame.right - start)}" height="${coordinate(frame.height - frame.top - frame.bottom)}"/>`;
}

export function quietInside(plot: Plot, quietAfter: number): boolean {
  return Number.isFinite(quietAfter) && quietAfter >= plot.first && quietAfter < plot.last;
}

export function emptyChartNote(frame: Frame, text: string): Markup {
  return html`<text class="empty" x="${coordinate(frame.width / 2)}" y="${coordinate(frame.height / 2)}" text-anchor="middle">${text}</text>`;
}
