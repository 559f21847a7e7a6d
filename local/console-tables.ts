/**
 * What the command line prints for a person (STYLE, "A command line"): the run's header, a progress
 * line per interval under a column header, and the closing table per node with the verdict, the
 * faults injected and the audit. `--json` prints none of it.
 */
import Table from 'cli-table3';
import { count, plural } from './counts.ts';
import type { Emulators } from './emulators.ts';
import { FAULTS, formatFaults } from './faults.ts';
import { drawnNodes } from './report/index.ts';
import type { SimulationOptions } from './simulation.ts';
import { shouldHaveConverged, type IntervalSample, type RunSummary } from './summary.ts';

/** The run's settings and where the emulators listen, before the first interval. */
export function header(options: SimulationOptions, intervals: number, emulators: Emulators): string {
  const faults = formatFaults(options.faults);
  const { quietAfter, faultsUntil } = options;
  const ingest = quietAfter === null ? 'that never stops' : `for ${plural(quietAfter, 'interval')}`;
  const window = faults === '' ? 'none' : `${faults}${faultsUntil === undefined ? '' : ` in intervals ≤ ${faultsUntil}`}`;
  return [
    `Microbatch Sync, locally: DynamoDB Local at ${emulators.endpoints.dynamodb}, fauxqs at ${emulators.endpoints.sqs} (up in ${seconds(emulators.startupMs.total)})`,
    `${options.scenario === 'seed' ? "The write-up's example: " : ''}${plural(options.nodes, 'node')}, t = ${options.intervalSeconds} s, b = ${options.batchSize}, ` +
      `ingest ${options.ingestRate}/s ${ingest}, ${plural(options.keys, 'key')}, seed ${options.seed}, ` +
      `${quietAfter === null && options.intervals === undefined ? 'until the recovery bound is watched' : `at most ${plural(intervals, 'interval')}`}; faults: ${window}`,
    '',
  ].join('\n');
}

/** The progress table's columns and their widths. */
const COLUMNS = [
  ['#', 3],
  ['k', 10],
  ['head', 7],
  ['+ingest', 8],
  ['planned', 8],
  ['applied', 8],
  ['dupes', 6],
  ['DLQ', 4],
  ['max lag', 18],
] as const;

/** The progress table's column names, printed once before the first interval. */
export function progressHeader(): string {
  return COLUMNS.map(([name, width]) => (name === 'max lag' ? `  ${name}` : name.padStart(width))).join(' ');
}

/** One interval's row of the progress table, with the slowest node's lag and whether the run is at the head. */
export function progressLine(sample: IntervalSample): string {
  const lags = Object.entries(sample.lagByNode).sort(([, a], [, b]) => b - a);
  const [slowest, lag = 0] = lags[0] ?? [];
  const cells = [
    String(sample.index),
    String(sample.k),
    String(sample.head),
    `+${sample.ingested}`,
    String(sample.microbatchesPlanned),
    String(sample.microbatchesApplied),
    String(sample.duplicatesSkipped),
    String(sample.deadLettered),
  ];
  const line = COLUMNS.slice(0, cells.length)
    .map(([, width], index) => (cells[index] ?? '').padStart(width))
    .join(' ');
  const mark = sample.allAtHead && sample.checkerConverged === true ? '✓ converged' : sample.allAtHead ? '· all at head' : '';
  return `${line}   ${(lag === 0 ? '0' : `${lag} (${slowest ?? ''})`).padEnd(16)} ${mark}`.trimEnd();
}

/** After the run: the per-node table, the verdict, the faults injected, the audit, where the files are and how long it took. */
export function finalReport(summary: RunSummary, files: { readonly html: string; readonly summary: string }, timing: { readonly wallMs: number; readonly startupMs: number }): string {
  const plain = !process.stdout.isTTY;
  const table = new Table({
    head: ['node', 'rate/s', 'share/interval', 'b_i (interval 1)', 'ceil(r·t/b)', 'cursor', 'lag', 'converged at', 'minimum', 'dupes skipped'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    style: { compact: true, ...(plain ? { head: [], border: [] } : {}) },
  });
  const shown = drawnNodes(summary);
  for (const node of shown) {
    table.push([
      `${node.nodeId}${node.underProvisioned ? ' *' : ''}`,
      node.rate,
      node.sharePerInterval,
      node.firstIntervalMicrobatches,
      node.microbatchesPerBusyInterval,
      node.cursor,
      node.lag,
      node.convergedAtInterval ?? '—',
      node.theoreticalMinInterval,
      node.duplicatesSkipped,
    ]);
  }
  const { audit, faults } = summary;
  const differences = audit.mismatched + audit.missing + audit.extra;
  const verdict = summary.recoveryBoundInterval === null && !summary.ingestContinued ? drainVerdict(summary) : continuousVerdict(summary);
  const lines = [
    '',
    table.toString(),
    ...(shown.length < summary.perNode.length ? [`(the ${plural(shown.length, 'node')} that converged last, of ${count(summary.perNode.length)}: summary.json holds every node)`] : []),
    ...(summary.perNode.some((node) => node.underProvisioned) ? ['* share per interval ceil(r·t) below the updates an interval ingested: falls behind while ingest runs'] : []),
    ...(summary.recoveryBoundInterval === null ? [] : ["Ingest never stopped: 'converged at' is the interval from which the node held every interval's head; 'minimum' is its recovery bound."]),
    '',
    `${verdict}: ${plural(summary.updatesIngested, 'update')}, ${plural(summary.microbatchesPlanned, 'microbatch', 'microbatches')} planned, ${count(summary.microbatchesApplied)} applied, ` +
      `${plural(summary.duplicatesSkipped, 'duplicate')} skipped, ${count(summary.deadLettered)} dead-lettered.`,
  ];
  if (summary.settings.scenario === 'seed') {
    const busy = summary.perNode.filter((node) => node.firstIntervalMicrobatches === node.microbatchesPerBusyInterval).length;
    const all = busy === summary.perNode.length;
    lines.push(
      `The write-up's formula at work: ${all ? 'every node' : `${count(busy)} of ${plural(summary.perNode.length, 'node')}`} got b_i = ceil(r_i·t/b) microbatches in interval 1` +
        `${all ? '' : ' (the others had less backlog than their share)'}.`,
    );
  }
  if (summary.settings.faults !== '') {
    lines.push(
      `Faults injected: ${FAULTS.map(({ kind, counted }) => `${faults[kind]} ${counted}`).join(', ')}` +
        `${summary.settings.faultsUntil === null ? '' : `, all in intervals ≤ ${summary.settings.faultsUntil}`}.`,
    );
  }
  lines.push(
    differences === 0
      ? `Audit: ${plural(audit.nodesChecked, 'node')}, 0 mismatched, 0 missing, 0 extra: every replica equals the log replayed to its cursor.`
      : `Audit: ${plural(audit.nodesChecked, 'node')}, ${audit.mismatched} mismatched, ${audit.missing} missing, ${audit.extra} extra:\n${audit.examples.map((example) => `  ${example}`).join('\n')}`,
    `Report:  ${files.html}`,
    `Summary: ${files.summary}`,
    `Wall time ${seconds(timing.wallMs)} (emulators ${seconds(timing.startupMs)}, run ${seconds(summary.durationMs)}).`,
  );
  return lines.join('\n');
}

/** Ingest that stopped: when the nodes held the final head. */
function drainVerdict(summary: RunSummary): string {
  return summary.converged
    ? `Converged after interval ${summary.convergedAtInterval ?? '?'} (theoretical minimum ${summary.theoreticalMinIntervals})`
    : `Not converged after ${plural(summary.intervalsRun, 'interval')} (theoretical minimum ${summary.theoreticalMinIntervals})${shouldHaveConverged(summary) ? ': it should have' : ': give it more --intervals'}`;
}

/** Node ids for a sentence: all of a few, the first ten and a count of many. */
function namedFew(ids: readonly string[]): string {
  const shown = 10;
  return ids.length <= shown ? ids.join(', ') : `${ids.slice(0, shown).join(', ')} and ${plural(ids.length - shown, 'more node')}`;
}

/** Ingest that ran to the end: whether every interval from the recovery bound on was judged converged. */
function continuousVerdict(summary: RunSummary): string {
  const bound = summary.recoveryBoundInterval;
  if (summary.converged) {
    return `Converged: every interval from ${summary.convergedAtInterval ?? '?'} to ${summary.intervalsRun} was judged converged while ingest went on (recovery bound ${bound ?? '?'})`;
  }
  const slow = summary.perNode.filter((node) => node.sharePerInterval <= Math.round(summary.settings.ingestRate * summary.settings.intervalSeconds));
  const why =
    bound === null
      ? 'the faults never stopped (set --faults-until)'
      : slow.length > 0
        ? `${namedFew(slow.map((node) => node.nodeId))} cannot keep up: a share per interval not above the ingest`
        : bound > summary.intervalsRun
          ? `the recovery bound ${bound} lies beyond the run: give it more --intervals`
          : `intervals from the recovery bound ${bound} on were judged not converged`;
  return `Not converged while ingest went on: ${why}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
