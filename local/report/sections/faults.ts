/** The faults `--faults` injected, one bar per kind. */
import { scaleLinear } from 'd3-scale';
import type { FaultCounts } from '../../summary.ts';
import { coordinate } from '../chart-kit.ts';
import { FAULTS } from '../../faults.ts';
import { count, largest } from '../format.ts';
import { html, type Markup } from '../markup.ts';

/** One bar per fault kind, all on the scale of the largest count. */
function faultBars(faults: FaultCounts): Markup {
  const width = 520;
  const rowHeight = 30;
  const labelWidth = 150;
  const valueWidth = 48;
  const maximum = largest(FAULTS.map(({ kind }) => faults[kind]), 1);
  const length = scaleLinear().domain([0, maximum]).range([0, width - labelWidth - valueWidth]);
  const rows = FAULTS.map(({ kind, label, description }, row) => {
    const value = faults[kind];
    const y = row * rowHeight;
    const barLength = Number.isFinite(value) ? Math.max(0, length(value)) : 0;
    return html`<g class="fault${value > 0 ? '' : ' none'}"><title>${description}</title>
<text x="${labelWidth - 10}" y="${y + 19}" text-anchor="end">${label}</text>
<rect class="track" x="${labelWidth}" y="${y + 7}" width="${width - labelWidth - valueWidth}" height="16" rx="3"/>
<rect class="bar" x="${labelWidth}" y="${y + 7}" width="${coordinate(barLength)}" height="16" rx="3"/>
<text class="value" x="${width - valueWidth + 8}" y="${y + 19}">${count(value)}</text></g>`;
  });
  return html`<svg id="fault-chart" class="chart" viewBox="0 0 ${width} ${FAULTS.length * rowHeight + 6}" role="img" aria-label="Faults injected by kind">${rows}</svg>`;
}

/** The faults card. */
export function faultSection(faults: FaultCounts): Markup {
  return html`<section class="card">
<h2>Faults injected</h2>
<p class="hint">What <code>--faults</code> did to the run. The audit below says whether any of it got through.</p>
${faultBars(faults)}
</section>`;
}
