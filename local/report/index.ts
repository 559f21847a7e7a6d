/**
 * The run report: `renderReport(summary)` turns a RunSummary into one self-contained HTML page —
 * inline CSS and inline SVG, no script, nothing fetched — that a person opens from `out/report.html`.
 *
 * Pure: no I/O, no clock, no randomness; the same summary always renders the same bytes. Every value
 * reaches the page through the `html` tag, which escapes whatever is not already markup.
 *
 * This folder: `markup.ts` (the `html` tag), `format.ts` (numbers), `chart-kit.ts` (scales, ticks,
 * paths, axes), `series.ts` (a color per node),
 * `sections/` (one module per part of the page), `report.css` (the inlined stylesheet). The fault
 * kinds shown, their names and order, come from the run's catalogue (`FAULTS`, `../faults.ts`).
 */
import type { RunSummary } from '../summary.ts';
import { count, plural } from './format.ts';
import { html, htmlPage } from './markup.ts';
import { auditSection } from './sections/audit.ts';
import { faultSection } from './sections/faults.ts';
import { header, keyNumbers, pageTitle } from './sections/header.ts';
import { intervalSection } from './sections/intervals.ts';
import { lagSection } from './sections/lag.ts';
import { headSection } from './sections/log-head.ts';
import { nodeSection } from './sections/nodes.ts';
import { seriesStyle } from './series.ts';
import { STYLESHEET } from './stylesheet.ts';

/**
 * The most nodes the lag chart and the node table draw: a fleet of thousands shows its slowest
 * nodes (the ones a reader looks for), and summary.json keeps every one.
 */
export const NODES_DRAWN = 24;

/** The nodes a page draws: all of a small fleet, else the {@link NODES_DRAWN} that converged last (never first). */
export function drawnNodes(summary: RunSummary): RunSummary['perNode'] {
  if (summary.perNode.length <= NODES_DRAWN) return summary.perNode;
  const lateness = (node: RunSummary['perNode'][number]): number => node.convergedAtInterval ?? Number.POSITIVE_INFINITY;
  return [...summary.perNode].sort((a, b) => lateness(b) - lateness(a) || b.lag - a.lag || (a.nodeId < b.nodeId ? -1 : 1)).slice(0, NODES_DRAWN);
}

/** Renders the whole report page for one run. */
export function renderReport(summary: RunSummary): string {
  const drawn = { ...summary, perNode: drawnNodes(summary) };
  const styles = drawn.perNode.map((_node, position) => seriesStyle(position));
  const omitted = summary.perNode.length - drawn.perNode.length;
  const page = htmlPage(pageTitle(summary), STYLESHEET, html`${header(summary)}
${keyNumbers(summary)}
${omitted > 0 && html`<p class="muted">The chart and the node table show the ${plural(drawn.perNode.length, 'node')} that converged last, of ${count(summary.perNode.length)}; <code>summary.json</code> holds every node.</p>`}
${lagSection(drawn, styles)}
<div class="row">
${headSection(summary)}
${faultSection(summary.faults)}
</div>
${nodeSection(drawn, styles)}
${intervalSection(summary)}
${auditSection(summary)}
<footer>Microbatch Sync · local run report · rendered from <code>summary.json</code>, which holds every number on this page.</footer>`);
  return page.text;
}
