/** `microbatch status` for a person: the convergence table, the queue depths and the alarms. */
import { plural } from '#local/counts.ts';
import { table } from '../output.ts';
import type { ConvergenceRow, QueueDepth, StatusReport } from './read-status.ts';

/** Laggards named in a cell: the rest are counted. */
const LAGGARDS_SHOWN = 3;

function laggards(row: ConvergenceRow): string {
  if (row.laggingCount === undefined || row.laggingCount === 0) return '';
  const named = row.laggards.slice(0, LAGGARDS_SHOWN);
  const more = row.laggingCount - named.length;
  return more > 0 ? `${named.join(', ')} +${more}` : named.join(', ');
}

function outcome(row: ConvergenceRow): string {
  if (row.convergedAt !== undefined) return row.convergedAt;
  if (row.expiredAt !== undefined) return row.expiredReason === 'plan-incomplete' ? `closed ${row.expiredAt}: plan incomplete` : `expired ${row.expiredAt}`;
  if (row.shardsReported < row.shards) return 'planning';
  return row.activeNodes === undefined ? 'not judged yet' : 'not yet';
}

/** Shards that planned, of the interval's shards; those that gave up as stale, if any. */
function shards(row: ConvergenceRow): string {
  return `${row.shardsReported}/${row.shards}${row.shardsExpired > 0 ? ` (${row.shardsExpired} late)` : ''}`;
}

function depth(name: string, queue: QueueDepth): string {
  return `${name}: ${queue.visible} waiting, ${queue.inFlight} in flight${queue.delayed > 0 ? `, ${queue.delayed} delayed` : ''}`;
}

export function formatStatus(report: StatusReport): string {
  const rows = report.convergence.map((row) => [
    row.interval,
    row.head,
    shards(row),
    row.activeNodes === undefined ? '' : `${row.consistentNodes ?? 0}/${row.activeNodes}`,
    row.maxLagUpdates ?? '',
    row.maxStalenessSeconds === undefined ? '' : `${Math.round(row.maxStalenessSeconds)} s`,
    laggards(row),
    outcome(row),
  ]);
  const lines = [
    `stream ${report.stream}: the newest ${plural(report.convergence.length, 'interval')}`,
    report.convergence.length === 0
      ? 'no convergence records yet: the planner writes one per interval'
      : table(['interval', 'head', 'shards planned', 'consistent/active', 'max lag', 'max staleness', 'laggards', 'converged at'], rows),
    depth('microbatch queue', report.queue),
    depth('dead-letter queue', report.deadLetterQueue) + (report.deadLetterQueue.visible > 0 ? '  ← see `npx microbatch dlq list`' : ''),
  ];
  if (report.alarmsInAlarm === null) lines.push('alarms: none locally (a deployed stack has CloudWatch alarms)');
  else if (report.alarmsInAlarm.length === 0) lines.push('alarms: none in ALARM');
  else lines.push(`alarms in ALARM:\n${report.alarmsInAlarm.map((alarm) => `  ${alarm.name}${alarm.since === undefined ? '' : ` since ${alarm.since}`}: ${alarm.reason}`).join('\n')}`);
  return lines.join('\n');
}
