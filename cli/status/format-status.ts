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

/**
 * Each interval's start — its plan header's `plannedAt`, the tick's scheduled time — in UTC: the
 * time of day when every row starts on the same date (the date goes in the heading), else date and
 * time. A value that is not a time is shown as stored.
 */
function starts(rows: readonly ConvergenceRow[]): { readonly day?: string; readonly start: (row: ConvergenceRow) => string } {
  const iso = (row: ConvergenceRow): string | undefined => {
    const time = Date.parse(row.plannedAt);
    return Number.isNaN(time) ? undefined : new Date(time).toISOString();
  };
  const days = new Set(rows.map((row) => iso(row)?.slice(0, 10) ?? row.plannedAt));
  const [day] = days;
  const oneDay = days.size === 1 && day !== undefined && rows.every((row) => iso(row) !== undefined);
  return {
    ...(oneDay ? { day } : {}),
    start: (row) => {
      const time = iso(row);
      if (time === undefined) return row.plannedAt;
      return oneDay ? time.slice(11, 19) : `${time.slice(0, 10)} ${time.slice(11, 19)}`;
    },
  };
}

function depth(name: string, queue: QueueDepth): string {
  return `${name}: ${queue.visible} waiting, ${queue.inFlight} in flight${queue.delayed > 0 ? `, ${queue.delayed} delayed` : ''}`;
}

export function formatStatus(report: StatusReport): string {
  const { day, start } = starts(report.convergence);
  const rows = report.convergence.map((row) => [
    row.interval,
    start(row),
    row.head,
    shards(row),
    row.activeNodes === undefined ? '' : `${row.consistentNodes ?? 0}/${row.activeNodes}`,
    row.maxLagUpdates ?? '',
    row.maxStalenessSeconds === undefined ? '' : `${Math.round(row.maxStalenessSeconds)} s`,
    laggards(row),
    outcome(row),
  ]);
  const lines = [
    `stream ${report.stream}: the newest ${plural(report.convergence.length, 'interval')}${report.convergence.length === 0 ? '' : day === undefined ? ' (UTC)' : `, on ${day} (UTC)`}`,
    report.convergence.length === 0
      ? 'no convergence records yet: the planner writes one per interval'
      : table(['interval', 'starts', 'head', 'shards planned', 'consistent/active', 'max lag', 'max staleness', 'laggards', 'converged at'], rows),
    depth('microbatch queue', report.queue),
    depth('dead-letter queue', report.deadLetterQueue) + (report.deadLetterQueue.visible > 0 ? '  ← see `npx microbatch dlq list`' : ''),
  ];
  if (report.alarmsInAlarm === null) lines.push('alarms: none locally (a deployed stack has CloudWatch alarms)');
  else if (report.alarmsInAlarm.length === 0) lines.push('alarms: none in ALARM');
  else lines.push(`alarms in ALARM:\n${report.alarmsInAlarm.map((alarm) => `  ${alarm.name}${alarm.since === undefined ? '' : ` since ${alarm.since}`}: ${alarm.reason}`).join('\n')}`);
  return lines.join('\n');
}
