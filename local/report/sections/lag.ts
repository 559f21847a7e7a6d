/** The main chart: lag per node over the run's intervals, with where the run converged and where ingest stopped. */
import type { RunSummary } from '../../summary.ts';
import { axes, coordinate, emptyChartNote, finitePoints, intervalPlot, linePath, quietBand, quietInside, type Frame, type Plot } from '../chart-kit.ts';
import { count, largest, plural } from '../format.ts';
import { html, type Markup } from '../markup.ts';
import { seriesStyle, strokeAttributes, swatch, type SeriesStyle } from '../series.ts';
import { SHARE_BELOW_INGEST } from './nodes.ts';

interface Marker {
  readonly at: number;
  readonly label: string;
  readonly kind: 'converged' | 'bound' | 'quiet';
}

/** What the lag chart marks: where the run converged, its theoretical minimum, where ingest stopped. */
function lagMarkers(summary: RunSummary, plot: Plot): readonly Marker[] {
  const converged = summary.convergedAtInterval;
  const bound = summary.theoreticalMinIntervals;
  const quietAfter = summary.settings.quietAfter ?? Number.POSITIVE_INFINITY;
  const continuous = summary.recoveryBoundInterval !== null;
  const markers: Marker[] = [];
  const boundName = continuous ? 'recovery bound' : 'theoretical min';
  if (converged !== null && converged === bound) {
    markers.push({ at: converged, label: `converged at ${count(converged)} = ${boundName}`, kind: 'converged' });
  } else {
    if (converged !== null) markers.push({ at: converged, label: `converged ${continuous ? 'from' : 'at'} ${count(converged)}`, kind: 'converged' });
    if (Number.isFinite(bound) && bound > 0) markers.push({ at: bound, label: `${boundName} ${count(bound)}`, kind: 'bound' });
  }
  if (quietInside(plot, quietAfter)) markers.push({ at: quietAfter, label: `no ingest after interval ${count(quietAfter)}`, kind: 'quiet' });
  return markers.filter((marker) => Number.isFinite(marker.at) && marker.at >= plot.first && marker.at <= plot.last);
}

/** Roughly how wide a 12 px label is; enough to keep labels apart, no font metrics needed. */
function labelWidth(text: string): number {
  return text.length * 6.8;
}

const LANE_ROW = 16;

/**
 * Marker labels live in the lane above the plot. Each takes the lowest row where it overprints no
 * label already placed; a label that would run off the right edge hangs to the left of its line.
 */
function markerLines(plot: Plot, markers: readonly Marker[]): Markup {
  const { frame, x } = plot;
  const plotRight = frame.width - frame.right;
  const placed: { readonly row: number; readonly from: number; readonly to: number }[] = [];
  return html`${markers.map((marker) => {
    const at = x(marker.at);
    const width = labelWidth(marker.label);
    const leftward = at + 6 + width > plotRight;
    const from = leftward ? at - 6 - width : at + 6;
    let row = 0;
    while (placed.some((label) => label.row === row && label.from < from + width + 12 && from < label.to + 12)) row++;
    placed.push({ row, from, to: from + width });
    const labelY = frame.top - 8 - row * LANE_ROW;
    const bottom = marker.kind === 'quiet' ? frame.top : frame.height - frame.bottom;
    return html`<g class="marker marker-${marker.kind}"><line x1="${coordinate(at)}" x2="${coordinate(at)}" y1="${coordinate(labelY - 10)}" y2="${coordinate(bottom)}"/><text x="${coordinate(leftward ? at - 6 : at + 6)}" y="${coordinate(labelY)}" text-anchor="${leftward ? 'end' : 'start'}">${marker.label}</text></g>`;
  })}`;
}

const LAG_FRAME: Frame = { width: 1040, height: 400, top: 64, right: 20, bottom: 44, left: 64 };

/** The main chart: lag per node over the run's intervals, one line per node. */
function lagChart(summary: RunSummary, styles: readonly SeriesStyle[]): Markup {
  const samples = summary.intervals;
  const series = summary.perNode.map((node) => finitePoints(samples, (sample) => sample.lagByNode[node.nodeId]));
  const maximum = largest(series.flat().map(([, lag]) => lag), 0);
  const plot = intervalPlot(LAG_FRAME, samples, maximum, 6);
  const showPoints = samples.length <= 40;
  const lines = summary.perNode.map((node, position) => {
    const points = series[position] ?? [];
    const style = styles[position] ?? seriesStyle(position);
    return html`<g class="series"><title>${node.nodeId}</title><path class="line" data-node="${node.nodeId}" d="${linePath(points, plot.x, plot.y)}" ${strokeAttributes(style)}/>${
      showPoints && points.map(([index, lag]) => html`<circle cx="${coordinate(plot.x(index))}" cy="${coordinate(plot.y(lag))}" r="3" fill="${style.color}"/>`)
    }</g>`;
  });
  const note = summary.perNode.length === 0 ? 'No nodes in this run' : samples.length === 0 ? 'No intervals recorded' : null;
  return html`<svg id="lag-chart" class="chart" viewBox="0 0 ${LAG_FRAME.width} ${LAG_FRAME.height}" role="img" aria-labelledby="lag-title">
<title id="lag-title">Lag per node over ${plural(samples.length, 'interval')}</title>
${note === null && quietBand(plot, summary.settings.quietAfter ?? Number.POSITIVE_INFINITY)}
${axes(plot, 'interval', 'lag (updates behind head)')}
${note === null && markerLines(plot, lagMarkers(summary, plot))}
${lines}
${note !== null && emptyChartNote(LAG_FRAME, note)}
</svg>`;
}

/** The lag card: a legend of the nodes and the lag chart. */
export function lagSection(summary: RunSummary, styles: readonly SeriesStyle[]): Markup {
  return html`<section class="card">
<h2>Lag per node</h2>
<p class="hint">Updates each node still lacked after every interval (head − cursor). A node has converged when its line reaches 0 and stays there.</p>
<ul class="legend">${summary.perNode.map((node, position) => html`<li>${swatch(styles[position] ?? seriesStyle(position))}<span>${node.nodeId}</span>${node.underProvisioned && html`<em title="its share ⌈r·t⌉ was below the ingest per interval while ingest ran">${SHARE_BELOW_INGEST}</em>`}</li>`)}</ul>
${lagChart(summary, styles)}
</section>`;
}
