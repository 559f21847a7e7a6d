/**
 * The chart kit: scales, ticks, paths, axes and frames that the report's SVG charts are drawn with.
 * Scales, nice ticks and line and area paths come from d3-scale and d3-shape; every other
 * coordinate goes through `coordinate`, so the page holds no NaN and no long decimals.
 */
import { scaleLinear, type ScaleLinear } from 'd3-scale';
import { area, line } from 'd3-shape';
import type { IntervalSample } from '../summary.ts';
import { compact, count } from './format.ts';
import { html, type Markup } from './markup.ts';

/** An SVG coordinate: one decimal is finer than a pixel and keeps the page small. */
export function coordinate(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 10) / 10) : '0';
}

// ─── Scales and paths ────────────────────────────────────────────────────────────────────────────

/** A position on the page for a value; a d3 linear scale is one. */
export type Scale = (value: number) => number;

/**
 * A count axis from 0 with about `maxTicks` whole-number ticks, d3's 1, 2 or 5 × 10ⁿ steps, and its
 * top rounded up to a tick. A count of 0 or 1 still gets an axis from 0 to at least 1.
 */
function countAxis(maximum: number, maxTicks: number): ScaleLinear<number, number> {
  // 4 % headroom keeps a peak off the top edge, where the marker labels are.
  const axis = scaleLinear().domain([0, Math.max(1, maximum * 1.04)]).nice(maxTicks);
  const [, top = 1] = axis.domain();
  // Below a handful of updates d3 would step by 0.5 or 0.2; counts stop at whole numbers.
  return axis.domain([0, Math.ceil(top)]);
}

/** Whole-number ticks of a count axis. */
function countTicks(axis: ScaleLinear<number, number>, maxTicks: number): readonly number[] {
  return axis.ticks(maxTicks).filter((tick) => Number.isInteger(tick));
}

/** Whole-number interval ticks inside [first, last] at d3's nice steps; the first interval always gets one. */
function intervalTicks(first: number, last: number, maxTicks: number): readonly number[] {
  const whole = scaleLinear().domain([first, last]).ticks(maxTicks).filter((tick) => Number.isInteger(tick));
  const [second, third] = whole;
  const step = second !== undefined && third !== undefined ? third - second : 1;
  // A nice tick closer to the first interval than half a step would print over its label.
  return [first, ...whole.filter((tick) => tick - first >= step / 2)];
}

/** An [interval, value] pair. */
export type Point = readonly [number, number];

/** `Mx,yLx,y…` through the points (d3-shape, one decimal); an empty string for no points. */
export function linePath(points: readonly Point[], x: Scale, y: Scale): string {
  const path = line<Point>()
    .x(([index]) => x(index))
    .y(([, value]) => y(value))
    .digits(1);
  return path(points) ?? '';
}

/** The area between the line and the baseline, for a fill (d3-shape, one decimal). */
export function areaPath(points: readonly Point[], x: Scale, y: Scale, baseline: number): string {
  const path = area<Point>()
    .x(([index]) => x(index))
    .y0(y(baseline))
    .y1(([, value]) => y(value))
    .digits(1);
  return path(points) ?? '';
}

/** The [interval, value] pairs of `samples` whose value is a finite number. */
export function finitePoints(samples: readonly IntervalSample[], pick: (sample: IntervalSample) => number | undefined): Point[] {
  const points: Point[] = [];
  for (const sample of samples) {
    const value = pick(sample);
    if (value !== undefined && Number.isFinite(value) && Number.isFinite(sample.index)) points.push([sample.index, value]);
  }
  return points;
}

// ─── Frames and axes ─────────────────────────────────────────────────────────────────────────────

/** A chart's size in SVG units and the margins around its plot area. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  readonly left: number;
}

/** A frame with its scales: intervals along x, a count from 0 along y. */
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
  const y = countAxis(maximum, maxYTicks).range([frame.height - frame.bottom, frame.top]);
  return {
    frame,
    x: scaleLinear().domain([first - pad, last + pad]).range([frame.left, frame.width - frame.right]),
    y,
    first,
    last,
    yTicks: countTicks(y, maxYTicks),
  };
}

/** Grid lines, both axes with ticks, and their labels; `xTickLabel` writes an x tick (default: a count). */
export function axes(plot: Plot, xLabel: string, yLabel: string, xTickLabel: (tick: number) => string = count): Markup {
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
  (tick) => html`<line x1="${coordinate(x(tick))}" x2="${coordinate(x(tick))}" y1="${coordinate(plotBottom)}" y2="${coordinate(plotBottom + 5)}"/><text x="${coordinate(x(tick))}" y="${coordinate(plotBottom + 19)}" text-anchor="middle">${xTickLabel(tick)}</text>`,
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

/** Whether the producer stopped strictly inside the plotted intervals. */
export function quietInside(plot: Plot, quietAfter: number): boolean {
  return Number.isFinite(quietAfter) && quietAfter >= plot.first && quietAfter < plot.last;
}

/** A centred note in place of a chart with nothing to draw. */
export function emptyChartNote(frame: Frame, text: string): Markup {
  return html`<text class="empty" x="${coordinate(frame.width / 2)}" y="${coordinate(frame.height / 2)}" text-anchor="middle">${text}</text>`;
}
