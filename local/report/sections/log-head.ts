/** The log head after each interval, with the updates ingested in it. */
import type { RunSummary } from '../../summary.ts';
import { areaPath, axes, coordinate, emptyChartNote, finitePoints, intervalPlot, linePath, type Frame } from '../chart-kit.ts';
import { count, largest } from '../format.ts';
import { html, type Markup } from '../markup.ts';

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

/** The log-head card. */
export function headSection(summary: RunSummary): Markup {
  return html`<section class="card">
<h2>Log head</h2>
<p class="hint">The head after each interval (line) and the updates ingested in it (bars).</p>
${headChart(summary)}
</section>`;
}
