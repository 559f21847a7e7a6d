/** The audit: every replica compared with a replay of the log. */
import type { RunSummary } from '../../summary.ts';
import { count } from '../format.ts';
import { html, type Markup } from '../markup.ts';

/** The audit card: the counts, and the first differences when there are any. */
export function auditSection(summary: RunSummary): Markup {
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
