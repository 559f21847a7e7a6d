/** The node table: each node's formula numbers, its lag over time and when it converged. */
import { scaleLinear } from 'd3-scale';
import { peakIngest, type IntervalSample, type NodeSummary, type RunSummary } from '../../summary.ts';
import { finitePoints, intervalDomain, linePath } from '../chart-kit.ts';
import { count, largest, rate } from '../format.ts';
import { html, type Markup } from '../markup.ts';
import { seriesStyle, strokeAttributes, swatch, type SeriesStyle } from '../series.ts';

/** The mark of a node whose share was below an interval's ingest, in the node table and the lag legend. */
export const SHARE_BELOW_INGEST = 'share < ingest';

/** A small lag line for one node on its own scale, so a node with little lag still shows its shape. */
function sparkline(samples: readonly IntervalSample[], nodeId: string, style: SeriesStyle): Markup {
  const width = 96;
  const height = 24;
  const points = finitePoints(samples, (sample) => sample.lagByNode[nodeId]);
  const [first, last] = intervalDomain(samples);
  const x = scaleLinear().domain([first, last]).range([2, width - 2]);
  const y = scaleLinear().domain([0, largest(points.map(([, lag]) => lag), 1)]).range([height - 3, 3]);
  return html`<svg class="spark" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" aria-hidden="true"><line class="spark-base" x1="2" x2="${width - 2}" y1="${height - 3}" y2="${height - 3}"/><path d="${linePath(points, x, y)}" ${strokeAttributes(style)}/></svg>`;
}

/** "10 / 9": when the node converged beside its theoretical minimum, flagged when it was late. */
function convergedCell(node: NodeSummary): Markup {
  const bound = html`<span class="muted"> / ${count(node.theoreticalMinInterval)}</span>`;
  if (node.convergedAtInterval === null) return html`<td class="num"><span class="pill bad">never</span>${bound}</td>`;
  const late = node.convergedAtInterval > node.theoreticalMinInterval;
  return html`<td class="num"><span class="${late ? 'warn-text' : ''}">${count(node.convergedAtInterval)}</span>${bound}</td>`;
}

/**
 * Whether the node could take what the run ingested: "share < ingest" when its share was below the
 * updates of some interval while ingest ran (it fell behind then, whether or not it caught up after).
 */
function capacityCell(node: NodeSummary, samples: readonly IntervalSample[]): Markup {
  const peak = peakIngest(samples);
  if (!node.underProvisioned || peak === undefined) return html`<span class="muted">ok</span>`;
  const why = `its share ⌈r·t⌉ = ${count(node.sharePerInterval)} is below the ingest per interval while ingest ran (${count(peak.ingested)} updates in interval ${count(peak.index)}): it falls behind while ingest runs`;
  return html`<span class="pill warn" title="${why}">${SHARE_BELOW_INGEST}</span>`;
}

/** The node table, one row per node in registration order. */
export function nodeSection(summary: RunSummary, styles: readonly SeriesStyle[]): Markup {
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
<td>${capacityCell(node, summary.intervals)}</td>
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
