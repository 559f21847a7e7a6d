/** The interval table: one row per interval of the simulated clock. */
import type { FaultCounts, IntervalSample, RunSummary } from '../../summary.ts';
import { FAULTS } from '../../faults.ts';
import { count, plural } from '../format.ts';
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

/**
 * The most interval rows the table draws, every one in the page (no scroll box hides any): a run
 * longer than this shows its first and last halves — how it started, how it ended — and a row that
 * says how many are left out between them; summary.json keeps every interval.
 */
export const INTERVAL_ROWS_DRAWN = 500;

/** The columns of the table, for the row that spans them. */
const COLUMNS = 11;

function intervalRow(sample: IntervalSample): Markup {
  return html`<tr${sample.allAtHead ? html` class="at-head"` : ''}>
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
</tr>`;
}

/** Every interval's row, or the first and last {@link INTERVAL_ROWS_DRAWN} / 2 around a row that counts the others. */
function intervalRows(intervals: readonly IntervalSample[]): { readonly rows: Markup; readonly omitted: number } {
  if (intervals.length <= INTERVAL_ROWS_DRAWN) return { rows: html`${intervals.map(intervalRow)}`, omitted: 0 };
  const half = INTERVAL_ROWS_DRAWN / 2;
  const head = intervals.slice(0, half);
  const tail = intervals.slice(-half);
  const omitted = intervals.length - INTERVAL_ROWS_DRAWN;
  const first = intervals[half]?.index ?? 0;
  const last = intervals[intervals.length - half - 1]?.index ?? 0;
  const gap = html`<tr class="omitted"><td colspan="${COLUMNS}">${plural(omitted, 'interval')} left out here (${count(first)}–${count(last)}): <code>summary.json</code> holds every one.</td></tr>`;
  return { rows: html`${head.map(intervalRow)}${gap}${tail.map(intervalRow)}`, omitted };
}

/** The interval table, with the checker's verdict and the faults injected per interval. */
export function intervalSection(summary: RunSummary): Markup {
  const { rows, omitted } = intervalRows(summary.intervals);
  const cap =
    omitted === 0 ? '' : html` The table shows the first and last ${count(INTERVAL_ROWS_DRAWN / 2)} of ${plural(summary.intervals.length, 'interval')}.`;
  return html`<section class="card" id="intervals">
<h2>Intervals</h2>
<p class="hint">One row per interval of the simulated clock. ● every node held the head after the interval's deliveries; the checker column is its verdict on the previous interval's plan.${cap}</p>
<div class="table-wrap"><table>
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
