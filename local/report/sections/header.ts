/** The top of the page: the title, the two verdicts, the run's settings and its key numbers. */
import type { NodeSummary, RunSummary } from '../../summary.ts';
import { count, duration, plural, rate } from '../format.ts';
import { html, type Markup } from '../markup.ts';

/** The page's `<title>`: the outcome, the nodes and the intervals. */
export function pageTitle(summary: RunSummary): string {
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

/** The headline, the convergence and audit verdicts, and the run's settings as chips. */
export function header(summary: RunSummary): Markup {
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

/** The row of key numbers under the header. */
export function keyNumbers(summary: RunSummary): Markup {
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
