/** The interval table: one row per interval of the simulated clock. */
import type { FaultCounts, RunSummary } from '../../summary.ts';
import { FAULTS } from '../../faults.ts';
import { count } from '../format.ts';
import { html, type Markup } from '../markup.ts';

function checkerMark(verdict: boolean | null): Markup {
  if (verdict === null) return html`<span class="muted" title="no plan to judge yet">–</span>`;
  // "Not yet" is the normal verdict while nodes catch up, so it is not painted as an error.
  return verdict ? html`<span class="ok-text" title="every node held the previous plan's head">✓</span>` : html`<span class="muted" title="some node was behind the previous plan's head">✗</span>`;
}

/** "dup 2 · throttle 1": the faults of one interval, in FAULTS order. */
function faultSummary(faults: FaultCounts): string {
  const parts = FAULTS.filter(({ kind }) => faults[kind] > 0).map(({ kind, short }) => `${short} ${count(faults[kind])}`);
  return parts.length === 0 ? '' : parts.join(' · ');
}

/** The interval table, with the checker's verdict and the faults injected per interval. */
export function intervalSection(summary: RunSummary): Markup {
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
