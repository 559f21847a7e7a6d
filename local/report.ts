/**
 * The run report: `renderReport(summary)` turns a RunSummary into one self-contained HTML page —
 * inline CSS and inline SVG, no script, nothing fetched — that a person opens from `out/report.html`.
 *
 * Pure: no I/O, no clock, no randomness; the same summary always renders the same bytes. Every value
 * reaches the page through the `html` tag, which escapes whatever is not already markup.
 */
import type { FaultCounts, IntervalSample, NodeSummary, RunSummary } from './summary.ts';

/** Renders the whole report page for one run. */
export function renderReport(summary: RunSummary): string {
  const styles = summary.perNode.map((_node, position) => seriesStyle(position));
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${pageTitle(summary)}</title>
<link rel="icon" href="data:,">
<style>${raw(STYLESHEET)}</style>
</head>
<body>
<main>
${header(summary)}
${keyNumbers(summary)}
${lagSection(summary, styles)}
<div class="row">
${headSection(summary)}
${faultSection(summary.faults)}
</div>
${nodeSection(summary, styles)}
${intervalSection(summary)}
${auditSection(summary)}
<footer>Microbatch Sync · local run report · rendered from <code>summary.json</code>, which holds every number on this page.</footer>
</main>
</body>
</html>
`;
  return page.text;
}

// ─── Markup ──────────────────────────────────────────────────────────────────────────────────────

/** Text that is already safe HTML. Only `html` and `raw` make one. */
class Markup {
  constructor(readonly text: string) {}
}

type Fragment = Markup | string | number | boolean | null | undefined | readonly Fragment[];

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

function isFragmentList(value: Fragment): value is readonly Fragment[] {
  return Array.isArray(value);
}

/**
 * Escapes every interpolated string, joins lists, and drops null, undefined and booleans so that
 * `condition && html\`…\`` reads naturally. A non-finite number renders as a dash, never as `NaN`.
 */
function fragmentText(value: Fragment): string {
  if (value instanceof Markup) return value.text;
  if (isFragmentList(value)) return value.map(fragmentText).join('');
  if (value === null || value === undefined || typeof value === 'boolean') return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '—';
  return escapeHtml(value);
}

function html(strings: TemplateStringsArray, ...values: readonly Fragment[]): Markup {
  let text = strings[0] ?? '';
  for (const [position, value] of values.entries()) text += fragmentText(value) + (strings[position + 1] ?? '');
  return new Markup(text);
}

/** For this module's own constants only, never for data from the summary. */
function raw(text: string): Markup {
  return new Markup(text);
}

// ─── Numbers ─────────────────────────────────────────────────────────────────────────────────────

const COUNT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const COMPACT = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/** 12,345 — or a dash for a value that is not a finite number. */
function count(value: number): string {
  return Number.isFinite(value) ? COUNT.format(value) : '—';
}

/** Rates keep three significant digits: 0.372, 8.5, 12.5, 150. */
function rate(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return Number(value.toPrecision(3)).toString();
}

function compact(value: number): string {
  return Number.isFinite(value) ? COMPACT.format(value) : '—';
}

function duration(milliseconds: number): string {
  if (!Number.isFinite(milliseconds)) return '—';
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  if (milliseconds < 60_000) return `${(milliseconds / 1000).toFixed(1)} s`;
  const seconds = Math.round(milliseconds / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

function plural(value: number, one: string, many = `${one}s`): string {
  return `${count(value)} ${value === 1 ? one : many}`;
}

/**
 * The largest of `values`, and at least `floor`. A loop rather than `Math.max(...values)`, whose
 * spread runs out of stack on a long run with many nodes.
 */
function largest(values: readonly number[], floor: number): number {
  let result = floor;
  for (const value of values) if (value > result) result = value;
  return result;
}

/** An SVG coordinate: one decimal is finer than a pixel and keeps the page small. */
function coordinate(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 10) / 10) : '0';
}

// ─── Scales and paths ────────────────────────────────────────────────────────────────────────────

type Scale = (value: number) => number;

/** Maps [d0, d1] onto [r0, r1]; a degenerate domain maps everything to the middle of the range. */
function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
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

type Point = readonly [number, number];

/** `M x,y L x,y …` through the points; an empty string for no points. */
function linePath(points: readonly Point[], x: Scale, y: Scale): string {
  return points.map(([px, py], position) => `${position === 0 ? 'M' : 'L'}${coordinate(x(px))},${coordinate(y(py))}`).join(' ');
}

/** The line closed down to the baseline, for an area fill. */
function areaPath(points: readonly Point[], x: Scale, y: Scale, baseline: number): string {
  const first = points[0];
  const last = points.at(-1);
  if (first === undefined || last === undefined) return '';
  const bottom = coordinate(y(baseline));
  return `${linePath(points, x, y)} L${coordinate(x(last[0]))},${bottom} L${coordinate(x(first[0]))},${bottom} Z`;
}

function finitePoints(samples: readonly IntervalSample[], pick: (sample: IntervalSample) => number | undefined): Point[] {
  const points: Point[] = [];
  for (const sample of samples) {
    const value = pick(sample);
    if (value !== undefined && Number.isFinite(value) && Number.isFinite(sample.index)) points.push([sample.index, value]);
  }
  return points;
}

// ─── Series colors ───────────────────────────────────────────────────────────────────────────────

/** Ten hues that stay apart on white (Tableau 10, darkened where it was too pale to read). */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1', '#17a2b8', '#9c755f', '#d37295', '#6b6ecf', '#b8860b'] as const;
const DASHES = ['', '7 4', '2 3'] as const;

interface SeriesStyle {
  readonly color: string;
  /** Past ten nodes the hues repeat, so the line pattern changes instead. */
  readonly dash: string;
}

function seriesStyle(position: number): SeriesStyle {
  return {
    color: PALETTE[position % PALETTE.length] ?? PALETTE[0],
    dash: DASHES[Math.floor(position / PALETTE.length) % DASHES.length] ?? '',
  };
}

function strokeAttributes(style: SeriesStyle): Markup {
  return html`stroke="${style.color}"${style.dash === '' ? '' : html` stroke-dasharray="${style.dash}"`}`;
}

// ─── Charts ──────────────────────────────────────────────────────────────────────────────────────

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  readonly left: number;
}

interface Plot {
  readonly frame: Frame;
  readonly x: Scale;
  readonly y: Scale;
  readonly first: number;
  readonly last: number;
  readonly yTicks: readonly number[];
}

/** The first and last interval of the run; [1, 1] when none was recorded. */
function intervalDomain(samples: readonly IntervalSample[]): readonly [number, number] {
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
function intervalPlot(frame: Frame, samples: readonly IntervalSample[], maximum: number, maxYTicks: number, padding = 0): Plot {
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
function axes(plot: Plot, xLabel: string, yLabel: string): Markup {
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
function quietBand(plot: Plot, quietAfter: number): Markup | null {
  if (!quietInside(plot, quietAfter)) return null;
  const { frame, x } = plot;
  const start = x(quietAfter);
  return html`<rect class="quiet" x="${coordinate(start)}" y="${coordinate(frame.top)}" width="${coordinate(frame.width - frame.right - start)}" height="${coordinate(frame.height - frame.top - frame.bottom)}"/>`;
}

function quietInside(plot: Plot, quietAfter: number): boolean {
  return Number.isFinite(quietAfter) && quietAfter >= plot.first && quietAfter < plot.last;
}

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

function emptyChartNote(frame: Frame, text: string): Markup {
  return html`<text class="empty" x="${coordinate(frame.width / 2)}" y="${coordinate(frame.height / 2)}" text-anchor="middle">${text}</text>`;
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

const HEAD_FRAME: Frame = { width: 520, height: 230, top: 20, right: 16, bottom: 44, left: 64 };

/** The log head after each interval, with the updates ingested in it as bars. */
function headChart(summary: RunSummary): Markup {
  const samples = summary.intervals;
  const heads = finitePoints(samples, (sample) => sample.head);
  const maximum = largest(heads.map(([, head]) => head), 0);
  const plot = intervalPlot(HEAD_FRAME, samples, maximum, 5, 0.5);
  const slot = samples.length > 1 ? Math.abs(plot.x(plot.first + 1) - plot.x(plot.first)) : 40;
  const barWidth = Math.max(2, Math.min(28, slot * 0.5));
  const bars = finitePoints(samples, (sample) => sample.ingested).map(([index, ingested]) => {
    const top = plot.y(ingested);
    return html`<rect class="ingest-bar" x="${coordinate(plot.x(index) - barWidth / 2)}" y="${coordinate(top)}" width="${coordinate(barWidth)}" height="${coordinate(plot.y(0) - top)}"><title>interval ${count(index)}: ${count(ingested)} ingested</title></rect>`;
  });
  return html`<svg id="head-chart" class="chart" viewBox="0 0 ${HEAD_FRAME.width} ${HEAD_FRAME.height}" role="img" aria-label="Log head over intervals">
${axes(plot, 'interval', 'updates')}
${bars}
<path class="head-area" d="${areaPath(heads, plot.x, plot.y, 0)}"/>
<path class="head-line" d="${linePath(heads, plot.x, plot.y)}"/>
${heads.length === 1 && heads.map(([index, head]) => html`<circle class="head-point" cx="${coordinate(plot.x(index))}" cy="${coordinate(plot.y(head))}" r="3.5"/>`)}
${samples.length === 0 && emptyChartNote(HEAD_FRAME, 'No intervals recorded')}
</svg>`;
}

/** A small lag line for one node on its own scale, so a node with little lag still shows its shape. */
function sparkline(samples: readonly IntervalSample[], nodeId: string, style: SeriesStyle): Markup {
  const width = 96;
  const height = 24;
  const points = finitePoints(samples, (sample) => sample.lagByNode[nodeId]);
  const [first, last] = intervalDomain(samples);
  const x = linearScale([first, last], [2, width - 2]);
  const y = linearScale([0, largest(points.map(([, lag]) => lag), 1)], [height - 3, 3]);
  return html`<svg class="spark" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" aria-hidden="true"><line class="spark-base" x1="2" x2="${width - 2}" y1="${height - 3}" y2="${height - 3}"/><path d="${linePath(points, x, y)}" ${strokeAttributes(style)}/></svg>`;
}

function swatch(style: SeriesStyle): Markup {
  return html`<svg class="swatch" viewBox="0 0 24 10" width="24" height="10" aria-hidden="true"><line x1="1" x2="23" y1="5" y2="5" ${strokeAttributes(style)}/></svg>`;
}

// ─── Sections ────────────────────────────────────────────────────────────────────────────────────

function pageTitle(summary: RunSummary): string {
  const outcome = summary.converged ? 'converged' : 'did not converge';
  return `Microbatch Sync run: ${outcome} · ${plural(summary.perNode.length, 'node')} · ${plural(summary.intervalsRun, 'interval')}`;
}

function auditDifferences(summary: RunSummary): number {
  const { mismatched, missing, extra } = summary.audit;
  return mismatched + missing + extra;
}

function convergenceVerdict(summary: RunSummary): Markup {
  const bound = summary.theoreticalMinIntervals;
  const boundName = summary.recoveryBoundInterval === null ? 'theoretical minimum' : 'recovery bound (ingest never stopped)';
  const boundText = Number.isFinite(bound) ? `${boundName} ${count(bound)}` : 'no theoretical minimum (a node has rate 0)';
  if (!summary.converged) {
    const tooShort = Number.isFinite(bound) && bound > summary.intervalsRun ? ' (longer than the run)' : '';
    const laggards = summary.perNode.filter((node) => node.convergedAtInterval === null).map((node) => node.nodeId);
    return html`<div class="verdict bad"><span class="mark" aria-hidden="true">✗</span><div><strong>Did not converge in ${plural(summary.intervalsRun, 'interval')}</strong>
<span>${boundText}${tooShort}${laggards.length > 0 && html` · not at head: ${laggards.join(', ')}`}</span></div></div>`;
  }
  const at = summary.convergedAtInterval;
  const over = at !== null && Number.isFinite(bound) ? at - bound : null;
  const overText = over === null ? '' : over <= 0 ? ' · reached it' : ` · ${plural(over, 'interval')} over it`;
  const last = lastToConverge(summary.perNode);
  return html`<div class="verdict ok"><span class="mark" aria-hidden="true">✓</span><div><strong>Converged${at !== null && html` at interval ${count(at)}`}</strong>
<span>${boundText}${overText}${last !== undefined && html` · last: ${last.nodeId}`}</span></div></div>`;
}

function lastToConverge(nodes: readonly NodeSummary[]): NodeSummary | undefined {
  let last: NodeSummary | undefined;
  for (const node of nodes) {
    if (node.convergedAtInterval !== null && (last?.convergedAtInterval ?? 0) < node.convergedAtInterval) last = node;
  }
  return last;
}

function auditVerdict(summary: RunSummary): Markup {
  const { nodesChecked, mismatched, missing, extra } = summary.audit;
  if (auditDifferences(summary) === 0) {
    return html`<div class="verdict ok"><span class="mark" aria-hidden="true">✓</span><div><strong>Audit clean</strong>
<span>${plural(nodesChecked, 'node')} replayed from the log: every replica item matches</span></div></div>`;
  }
  return html`<div class="verdict bad"><span class="mark" aria-hidden="true">✗</span><div><strong>Audit found ${plural(auditDifferences(summary), 'difference')}</strong>
<span>${count(missing)} missing · ${count(extra)} extra · ${count(mismatched)} different, across ${plural(nodesChecked, 'node')}</span></div></div>`;
}

function header(summary: RunSummary): Markup {
  const { settings } = summary;
  const chips: readonly (readonly [string, string])[] = [
    ['scenario', settings.scenario],
    ['nodes', count(settings.nodes)],
    ['intervals', count(settings.intervals)],
    ['interval t', `${count(settings.intervalSeconds)} s`],
    ['batch size b', count(settings.batchSize)],
    ['ingest', `${rate(settings.ingestRate)} updates/s`],
    ['quiet after', settings.quietAfter === null ? 'never: ingest runs to the end' : `interval ${count(settings.quietAfter)}`],
    ['faults until', settings.faultsUntil === null ? (settings.faults === '' ? '–' : 'the end') : `interval ${count(settings.faultsUntil)}`],
    ['keys', count(settings.keys)],
    ['seed', count(settings.seed)],
    ['faults', settings.faults === '' ? 'none' : settings.faults],
  ];
  return html`<header>
<p class="eyebrow">Microbatch Sync · local run</p>
<h1>${summary.converged && auditDifferences(summary) === 0 ? 'Every node converged and matches the log' : 'This run needs attention'}</h1>
<div class="verdicts">${convergenceVerdict(summary)}${auditVerdict(summary)}</div>
<ul class="settings">${chips.map(([name, value]) => html`<li><span>${name}</span> ${value}</li>`)}</ul>
</header>`;
}

function keyNumbers(summary: RunSummary): Markup {
  const faultsInjected = Object.values(summary.faults).reduce((total, value) => total + value, 0);
  const numbers: readonly (readonly [string, string, boolean])[] = [
    ['updates ingested', count(summary.updatesIngested), false],
    ['microbatches planned', count(summary.microbatchesPlanned), false],
    ['microbatches applied', count(summary.microbatchesApplied), false],
    ['duplicates skipped', count(summary.duplicatesSkipped), false],
    ['dead-lettered', count(summary.deadLettered), summary.deadLettered > 0],
    ['faults injected', count(faultsInjected), false],
    ['run took', duration(summary.durationMs), false],
  ];
  return html`<section class="numbers">${numbers.map(
    ([label, value, notable]) => html`<div class="number${notable && ' notable'}"><strong>${value}</strong><span>${label}</span></div>`,
  )}</section>`;
}

function lagSection(summary: RunSummary, styles: readonly SeriesStyle[]): Markup {
  return html`<section class="card">
<h2>Lag per node</h2>
<p class="hint">Updates each node still lacked after every interval (head − cursor). A node has converged when its line reaches 0 and stays there.</p>
<ul class="legend">${summary.perNode.map((node, position) => html`<li>${swatch(styles[position] ?? seriesStyle(position))}<span>${node.nodeId}</span>${node.underProvisioned && html`<em>under-provisioned</em>`}</li>`)}</ul>
${lagChart(summary, styles)}
</section>`;
}

function headSection(summary: RunSummary): Markup {
  return html`<section class="card">
<h2>Log head</h2>
<p class="hint">The head after each interval (line) and the updates ingested in it (bars).</p>
${headChart(summary)}
</section>`;
}

interface FaultKind {
  readonly kind: keyof FaultCounts;
  readonly label: string;
  /** For the per-interval table, where space is short. */
  readonly short: string;
  readonly description: string;
}

const FAULT_KINDS: readonly FaultKind[] = [
  { kind: 'duplicate', label: 'duplicate delivery', short: 'dup', description: 'A batch delivered to the applier twice' },
  { kind: 'crash', label: 'applier crash', short: 'crash', description: 'Effects kept, result lost, the batch comes back' },
  { kind: 'throttle', label: 'throttled request', short: 'throttle', description: 'DynamoDB answered with a throttling error' },
  { kind: 'poison', label: 'poison message', short: 'poison', description: 'A malformed message put on the queue' },
  { kind: 'plannerDuplicate', label: 'planner duplicate', short: 'planner dup', description: 'The same planner tick delivered more than once' },
  { kind: 'reorder', label: 'reordered batch', short: 'reorder', description: 'Records of a batch delivered in another order' },
  { kind: 'lose', label: 'lost token', short: 'lost', description: 'A token acknowledged without being applied (a paused node, a dead letter)' },
];

function faultBars(faults: FaultCounts): Markup {
  const width = 520;
  const rowHeight = 30;
  const labelWidth = 150;
  const valueWidth = 48;
  const maximum = largest(FAULT_KINDS.map(({ kind }) => faults[kind]), 1);
  const length = linearScale([0, maximum], [0, width - labelWidth - valueWidth]);
  const rows = FAULT_KINDS.map(({ kind, label, description }, row) => {
    const value = faults[kind];
    const y = row * rowHeight;
    const barLength = Number.isFinite(value) ? Math.max(0, length(value)) : 0;
    return html`<g class="fault${value > 0 ? '' : ' none'}"><title>${description}</title>
<text x="${labelWidth - 10}" y="${y + 19}" text-anchor="end">${label}</text>
<rect class="track" x="${labelWidth}" y="${y + 7}" width="${width - labelWidth - valueWidth}" height="16" rx="3"/>
<rect class="bar" x="${labelWidth}" y="${y + 7}" width="${coordinate(barLength)}" height="16" rx="3"/>
<text class="value" x="${width - valueWidth + 8}" y="${y + 19}">${count(value)}</text></g>`;
  });
  return html`<svg id="fault-chart" class="chart" viewBox="0 0 ${width} ${FAULT_KINDS.length * rowHeight + 6}" role="img" aria-label="Faults injected by kind">${rows}</svg>`;
}

function faultSection(faults: FaultCounts): Markup {
  return html`<section class="card">
<h2>Faults injected</h2>
<p class="hint">What <code>--faults</code> did to the run. The audit below says whether any of it got through.</p>
${faultBars(faults)}
</section>`;
}

/** "10 / 9": when the node converged beside its theoretical minimum, flagged when it was late. */
function convergedCell(node: NodeSummary): Markup {
  const bound = html`<span class="muted"> / ${count(node.theoreticalMinInterval)}</span>`;
  if (node.convergedAtInterval === null) return html`<td class="num"><span class="pill bad">never</span>${bound}</td>`;
  const late = node.convergedAtInterval > node.theoreticalMinInterval;
  return html`<td class="num"><span class="${late ? 'warn-text' : ''}">${count(node.convergedAtInterval)}</span>${bound}</td>`;
}

function nodeSection(summary: RunSummary, styles: readonly SeriesStyle[]): Markup {
  const { batchSize } = summary.settings;
  const rows = summary.perNode.map((node, position) => {
    const style = styles[position] ?? seriesStyle(position);
    return html`<tr>
<th scope="row"><span class="node">${swatch(style)}${node.nodeId}</span></th>
<td class="num">${rate(node.rate)}</td>
<td class="num">${count(node.sharePerInterval)}</td>
<td class="num">${count(node.microbatchesPerBusyInterval)}</td>
<td class="num">${count(node.firstIntervalMicrobatches)}</td>
<td class="num">${count(node.cursor)}</td>
<td class="num${node.lag > 0 ? ' warn-text' : ''}">${count(node.lag)}</td>
<td>${sparkline(summary.intervals, node.nodeId, style)}</td>
${convergedCell(node)}
<td class="num">${count(node.microbatchesApplied)}</td>
<td class="num">${count(node.duplicatesSkipped)}</td>
<td>${node.underProvisioned ? html`<span class="pill warn" title="ceil(r·t) is below the average ingest per interval: the node falls behind while ingest continues">under-provisioned</span>` : html`<span class="muted">ok</span>`}</td>
</tr>`;
  });
  return html`<section class="card">
<h2>Nodes</h2>
<p class="hint">Each interval the planner gives node <i>i</i> q<sub>i</sub> = min(lag<sub>i</sub>, ⌈r<sub>i</sub>·t⌉) updates in b<sub>i</sub> = ⌈q<sub>i</sub>/b⌉ microbatches of at most b = ${count(batchSize)}.</p>
<div class="table-wrap"><table>
<thead><tr>
<th scope="col">node</th>
<th scope="col" class="num">rate r<small>updates/s</small></th>
<th scope="col" class="num">share<small>⌈r·t⌉ / interval</small></th>
<th scope="col" class="num">busy b<sub>i</sub><small>⌈r·t/b⌉</small></th>
<th scope="col" class="num">first b<sub>i</sub><small>interval 1</small></th>
<th scope="col" class="num">cursor<small>applied seq</small></th>
<th scope="col" class="num">lag<small>at the end</small></th>
<th scope="col">lag over time<small>own scale</small></th>
<th scope="col" class="num">converged<small>at / theoretical min</small></th>
<th scope="col" class="num">applied<small>microbatches</small></th>
<th scope="col" class="num">dupes<small>skipped</small></th>
<th scope="col">capacity<small>vs ingest</small></th>
</tr></thead>
<tbody>${rows}</tbody>
</table>${summary.perNode.length === 0 && html`<p class="empty-note">No nodes in this run.</p>`}</div>
</section>`;
}

function checkerMark(verdict: boolean | null): Markup {
  if (verdict === null) return html`<span class="muted" title="no plan to judge yet">–</span>`;
  // "Not yet" is the normal verdict while nodes catch up, so it is not painted as an error.
  return verdict ? html`<span class="ok-text" title="every node held the previous plan's head">✓</span>` : html`<span class="muted" title="some node was behind the previous plan's head">✗</span>`;
}

function faultSummary(faults: FaultCounts): string {
  const parts = FAULT_KINDS.filter(({ kind }) => faults[kind] > 0).map(({ kind, short }) => `${short} ${count(faults[kind])}`);
  return parts.length === 0 ? '' : parts.join(' · ');
}

function intervalSection(summary: RunSummary): Markup {
  const rows = summary.intervals.map(
    (sample) => html`<tr${sample.allAtHead ? html` class="at-head"` : ''}>
<th scope="row" class="num">${count(sample.index)}</th>
<td class="num muted">${sample.k}</td>
<td class="num">${count(sample.head)}</td>
<td class="num">${count(sample.ingested)}</td>
<td class="num">${count(sample.microbatchesPlanned)}</td>
<td class="num">${count(sample.microbatchesApplied)}</td>
<td class="num">${count(sample.duplicatesSkipped)}</td>
<td class="num${sample.deadLettered > 0 ? ' bad-text' : ''}">${count(sample.deadLettered)}</td>
<td class="center">${sample.allAtHead ? html`<span class="ok-text" title="every node held the head">●</span>` : html`<span class="muted" title="some node was behind">○</span>`}</td>
<td class="center">${checkerMark(sample.checkerConverged)}</td>
<td class="faults">${faultSummary(sample.faults)}</td>
</tr>`,
  );
  return html`<section class="card">
<h2>Intervals</h2>
<p class="hint">One row per interval of the simulated clock. ● every node held the head after the interval's deliveries; the checker column is its verdict on the previous interval's plan.</p>
<div class="table-wrap scroll"><table>
<thead><tr>
<th scope="col" class="num">#</th>
<th scope="col" class="num">k</th>
<th scope="col" class="num">head</th>
<th scope="col" class="num">ingested</th>
<th scope="col" class="num">planned</th>
<th scope="col" class="num">applied</th>
<th scope="col" class="num">dupes skipped</th>
<th scope="col" class="num">dead-lettered</th>
<th scope="col" class="center">at head</th>
<th scope="col" class="center">checker</th>
<th scope="col">faults injected</th>
</tr></thead>
<tbody>${rows}</tbody>
</table>${summary.intervals.length === 0 && html`<p class="empty-note">No intervals recorded.</p>`}</div>
</section>`;
}

function auditSection(summary: RunSummary): Markup {
  const { audit } = summary;
  const cells: readonly (readonly [string, number])[] = [
    ['nodes checked', audit.nodesChecked],
    ['missing', audit.missing],
    ['extra', audit.extra],
    ['different', audit.mismatched],
  ];
  return html`<section class="card">
<h2>Audit</h2>
<p class="hint">After the run every node's replica is compared, item by item, with a replay of the log up to the node's cursor.</p>
<dl class="audit">${cells.map(([label, value], position) => html`<div class="${position > 0 && value > 0 ? 'bad' : ''}"><dt>${label}</dt><dd>${count(value)}</dd></div>`)}</dl>
${audit.examples.length > 0 && html`<h3>First differences</h3><ul class="examples">${audit.examples.map((example) => html`<li><code>${example}</code></li>`)}</ul>`}
</section>`;
}

// ─── Style ───────────────────────────────────────────────────────────────────────────────────────

const STYLESHEET = `
:root {
  color-scheme: light;
  --fg: #1f2328; --muted: #59636e; --faint: #818b98; --line: #d1d9e0; --grid: #eaeef2;
  --bg: #f4f6f8; --card: #ffffff; --accent: #0969da;
  --ok: #1a7f37; --ok-bg: #e6f6ea; --bad: #cf222e; --bad-bg: #ffebe9; --warn: #9a6700; --warn-bg: #fff6d6;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Liberation Sans", "DejaVu Sans", Arial, sans-serif;
  -webkit-font-smoothing: antialiased;
}
main { max-width: 1200px; margin: 0 auto; padding: 32px 24px 40px; }
code { font: 12.5px/1.4 ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", "Liberation Mono", Menlo, monospace; }
h1 { font-size: 26px; line-height: 1.25; margin: 4px 0 18px; letter-spacing: -0.01em; }
h2 { font-size: 16px; margin: 0 0 2px; }
h3 { font-size: 13px; margin: 16px 0 6px; color: var(--muted); }
.eyebrow { margin: 0; color: var(--muted); font-size: 12px; font-weight: 600; letter-spacing: 0.06em; text-transform: uppercase; }
.hint { margin: 0 0 14px; color: var(--muted); font-size: 13px; }
.muted { color: var(--faint); }
.ok-text { color: var(--ok); } .bad-text { color: var(--bad); font-weight: 600; } .warn-text { color: var(--warn); font-weight: 600; }

.verdicts { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.verdict { display: flex; gap: 12px; align-items: flex-start; padding: 14px 16px; border-radius: 10px; border: 1px solid; }
.verdict strong { display: block; font-size: 17px; }
.verdict span { color: var(--muted); }
.verdict .mark { flex: none; display: grid; place-items: center; width: 28px; height: 28px; border-radius: 50%; color: #fff; font-weight: 700; font-size: 15px; }
.verdict.ok { background: var(--ok-bg); border-color: #aedbb9; } .verdict.ok .mark { background: var(--ok); } .verdict.ok strong { color: #116329; }
.verdict.bad { background: var(--bad-bg); border-color: #ffb8b0; } .verdict.bad .mark { background: var(--bad); } .verdict.bad strong { color: #a40e26; }

.settings { display: flex; flex-wrap: wrap; gap: 6px; list-style: none; margin: 14px 0 0; padding: 0; }
.settings li { background: var(--card); border: 1px solid var(--line); border-radius: 999px; padding: 2px 10px; font-size: 12.5px; }
.settings li span { color: var(--muted); }

.numbers { display: grid; grid-template-columns: repeat(7, 1fr); gap: 8px; margin: 20px 0; }
.number { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 10px 10px 10px 12px; min-width: 0; }
.number strong { display: block; font-size: 20px; font-variant-numeric: tabular-nums; }
.number span { display: block; color: var(--muted); font-size: 11.5px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.number.notable strong { color: var(--bad); }

.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 18px 20px; margin-bottom: 16px; min-width: 0; }
.row { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.row > .card { margin-bottom: 16px; }

.chart { display: block; width: 100%; height: auto; font-size: 12px; }
.chart text { fill: var(--muted); }
.chart .grid line { stroke: var(--grid); }
.chart .axis line { stroke: var(--faint); }
.chart .axis-label { fill: var(--fg); font-weight: 600; }
.chart .line { fill: none; stroke-width: 2.25; stroke-linejoin: round; stroke-linecap: round; }
.chart .quiet { fill: #f3f5f7; }
.chart .marker line { stroke-width: 1.5; stroke-dasharray: 5 4; }
.chart .marker text { font-weight: 600; }
.chart .marker-converged line { stroke: var(--ok); } .chart .marker-converged text { fill: var(--ok); }
.chart .marker-bound line { stroke: var(--faint); } .chart .marker-bound text { fill: var(--muted); }
.chart .marker-quiet line { stroke: var(--faint); stroke-dasharray: none; } .chart .marker-quiet text { fill: var(--faint); font-weight: 400; font-style: italic; }
.chart .empty { fill: var(--faint); font-size: 15px; }
.chart .ingest-bar { fill: #c8d9ee; }
.chart .head-area { fill: var(--accent); fill-opacity: 0.08; }
.chart .head-line { fill: none; stroke: var(--accent); stroke-width: 2.25; stroke-linejoin: round; }
.chart .head-point { fill: var(--accent); }
#fault-chart text { fill: var(--fg); font-size: 13px; }
#fault-chart .track { fill: var(--grid); }
#fault-chart .bar { fill: #e07a3f; }
#fault-chart .value { font-weight: 600; font-variant-numeric: tabular-nums; }
#fault-chart .none text { fill: var(--faint); }

.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; list-style: none; margin: 0 0 4px; padding: 0; font-size: 13px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.legend em { font-style: normal; font-size: 11px; color: var(--warn); background: var(--warn-bg); border-radius: 4px; padding: 0 5px; }
.swatch line, .spark path { stroke-width: 2.5; fill: none; stroke-linecap: round; }
.spark { display: block; }
.spark .spark-base { stroke: var(--grid); stroke-width: 1; }

.table-wrap { overflow-x: auto; }
.table-wrap.scroll { max-height: 560px; overflow-y: auto; }
table { width: 100%; border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 8px; border-bottom: 1px solid var(--grid); text-align: left; white-space: nowrap; vertical-align: middle; }
thead th { position: sticky; top: 0; background: var(--card); font-size: 12px; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line); vertical-align: bottom; }
thead small { display: block; font-weight: 400; color: var(--faint); font-size: 11px; }
tbody th { font-weight: 600; }
tbody tr:hover { background: #f8fafc; }
tr.at-head th:first-child { box-shadow: inset 3px 0 0 var(--ok); }
.num { text-align: right; }
.center { text-align: center; }
.node { display: inline-flex; align-items: center; gap: 8px; }
.over { color: var(--warn); font-size: 11px; font-weight: 600; }
.pill { display: inline-block; border-radius: 999px; padding: 1px 8px; font-size: 11.5px; font-weight: 600; }
.pill.warn { color: var(--warn); background: var(--warn-bg); }
.pill.bad { color: var(--bad); background: var(--bad-bg); }
td.faults { color: var(--muted); font-size: 12px; white-space: normal; min-width: 180px; }
.empty-note { color: var(--faint); margin: 12px 0 0; }

.audit { display: flex; gap: 10px; margin: 0; }
.audit div { border: 1px solid var(--line); border-radius: 8px; padding: 6px 14px; min-width: 120px; }
.audit div.bad { border-color: #ffb8b0; background: var(--bad-bg); }
.audit dt { color: var(--muted); font-size: 12px; }
.audit dd { margin: 0; font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.audit div.bad dd { color: var(--bad); }
.examples { margin: 0; padding-left: 18px; }
.examples li { margin: 2px 0; overflow-wrap: anywhere; }

footer { color: var(--faint); font-size: 12px; text-align: center; margin-top: 24px; }
@media (max-width: 860px) {
  .verdicts, .row { grid-template-columns: 1fr; }
  .numbers { grid-template-columns: repeat(2, 1fr); }
}
`;
