/**
 * The figures a person reads, each beside its target: one list, from which the terminal table and
 * the README's Markdown table are both drawn. A figure is a path into the results file; its target
 * says what it should be and, where there is a budget, whether it is met.
 */
import type { PartName } from './parts.ts';

/** The results file's parts, read loosely: a figure looks its value up by path. */
export type Results = Readonly<Partial<Record<PartName, unknown>>>;

export interface Figure {
  readonly part: PartName;
  /** Dotted path in the results file. */
  readonly path: string;
  readonly what: string;
  readonly target: string;
  /** How the value reads: a ratio to two decimals, a count, milliseconds, bytes, dollars. */
  readonly unit: 'ratio' | 'count' | 'ms' | 'bytes' | 'usd' | 'times';
  /** Whether the value meets the target; absent: reported, no budget. */
  readonly meets?: (value: number, results: Results) => boolean;
  /** A second figure shown beside the value (DynamoDB Local's own count). */
  readonly beside?: { readonly label: string; readonly path: string };
}

/** The value at a dotted path, when it is a number. */
export function valueAt(results: Results, path: string): number | undefined {
  let node: unknown = results;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'number' ? node : undefined;
}

const dynamoLocal = (way: string): Figure['beside'] => ({ label: 'DynamoDB Local says', path: `apply.dynamoDbLocalWruPerUpdate.${way}` });

export const FIGURES: readonly Figure[] = [
  { part: 'apply', path: 'apply.wruPerUpdate.microbatch', what: 'write units per applied update, b = 100, distinct keys', target: '≤ 1.02 (floor 1 + 1/b)', unit: 'ratio', meets: (v) => v <= 1.02, beside: dynamoLocal('microbatch') },
  { part: 'apply', path: 'apply.wruPerUpdate.microbatchRepeatedKeys', what: 'the same, keys repeating inside a microbatch (25 keys)', target: '< 1', unit: 'ratio', meets: (v) => v < 1, beside: dynamoLocal('microbatchRepeatedKeys') },
  { part: 'apply', path: 'apply.wruPerUpdate.seedBaseline', what: "the seed's way: a conditional write and a timestamp write per update", target: 'reported', unit: 'ratio', beside: dynamoLocal('seedBaseline') },
  { part: 'apply', path: 'apply.wruPerUpdate.transactional', what: 'the b = 100 writes in TransactWriteItems', target: 'reported', unit: 'ratio', beside: dynamoLocal('transactional') },
  { part: 'planner', path: 'planner.nodes100k.cpuMs', what: 'planner CPU, 100,000 nodes, every call answered at once', target: '< 1,000 ms', unit: 'ms', meets: (v) => v < 1_000 },
  { part: 'planner', path: 'planner.nodes100k.messages', what: 'tokens sent', target: 'reported', unit: 'count' },
  {
    part: 'planner',
    path: 'planner.nodes100k.sendMessageBatchCalls',
    what: 'SendMessageBatch calls',
    target: '= ceil(messages / 10)',
    unit: 'count',
    meets: (v, results) => v === Math.ceil((valueAt(results, 'planner.nodes100k.messages') ?? Number.NaN) / 10),
  },
  { part: 'planner', path: 'planner.nodes100k.claims', what: 'conditional claims (one per planned node)', target: 'reported', unit: 'count' },
  { part: 'planner', path: 'planner.nodes100k.sdkCpuMsForTheTick', what: "the SDK's own CPU those claims and sends would add (measured per call × calls; not in cpuMs)", target: 'reported', unit: 'ms' },
  { part: 'planner', path: 'planner.nodes100k.simulatedWallMs', what: 'planner wall time, every SDK call 10 ms', target: '< 30,000 ms (t / 2)', unit: 'ms', meets: (v) => v < 30_000 },
  { part: 'checker', path: 'checker.nodes100k.cpuMs', what: 'checker CPU, 100,000 nodes, 60 open intervals', target: 'reported', unit: 'ms' },
  { part: 'checker', path: 'checker.nodes100k.simulatedWallMs', what: 'checker wall time, every call 10 ms', target: '< 30,000 ms (t / 2)', unit: 'ms', meets: (v) => v < 30_000 },
  { part: 'checker', path: 'checker.nodes100k.verdictBytes', what: 'largest verdict item', target: '< 8,192 bytes', unit: 'bytes', meets: (v) => v < 8_192 },
  { part: 'convergence', path: 'convergence.ratioToMinimum', what: 'intervals to converge / max_i ceil(lag_i / ceil(r_i·t)), worst of the fleets', target: '1.00', unit: 'ratio', meets: (v) => v === 1 },
  { part: 'coldStart', path: 'coldStart.sizeRatio', what: 'largest bundle / the same SDK clients alone', target: '≤ 1.25', unit: 'ratio', meets: (v) => v <= 1.25 },
  {
    part: 'coldStart',
    path: 'coldStart.initRatio',
    what: 'largest median CPU to import a bundle in a fresh process / the SDK clients alone (by wall time beside)',
    target: '≤ 1.25',
    unit: 'ratio',
    meets: (v) => v <= 1.25,
    beside: { label: 'wall', path: 'coldStart.initWallRatio' },
  },
  {
    part: 'endToEnd',
    path: 'endToEnd.overheadVsWriteFloor',
    what: 'pipeline wall time, b = 100 / the same writes made directly (by CPU beside)',
    target: '≤ 1.25',
    unit: 'ratio',
    meets: (v) => v <= 1.25,
    beside: { label: 'CPU', path: 'endToEnd.overheadVsWriteFloorCpu' },
  },
  {
    part: 'endToEnd',
    path: 'endToEnd.speedupVsPerUpdate',
    what: 'b = 1 wall time / b = 100 wall time, same workload (by CPU beside)',
    target: 'reported',
    unit: 'times',
    beside: { label: 'CPU', path: 'endToEnd.speedupVsPerUpdateCpu' },
  },
  { part: 'endToEnd', path: 'endToEnd.costPerMillionUpdates.microbatch.total', what: 'USD per million updates applied, b = 100', target: 'reported', unit: 'usd' },
  { part: 'endToEnd', path: 'endToEnd.costPerMillionUpdates.perUpdate.total', what: 'USD per million updates applied, b = 1', target: 'reported', unit: 'usd' },
  { part: 'endToEnd', path: 'endToEnd.costPerMillionUpdates.ratio', what: 'cost at b = 1 / cost at b = 100', target: 'reported', unit: 'times' },
  { part: 'retry', path: 'retry.adaptiveOverStandardWall.max', what: 'adaptive / standard retry mode, wall time, worst scenario', target: 'reported (> 1: standard is faster)', unit: 'times' },
];

export function formatValue(value: number | undefined, unit: Figure['unit']): string {
  if (value === undefined) return '—';
  switch (unit) {
    case 'ratio':
      return value.toFixed(2);
    case 'times':
      return `${value.toFixed(2)}×`;
    case 'ms':
      return `${Math.round(value).toLocaleString('en-US')} ms`;
    case 'bytes':
      return `${Math.round(value).toLocaleString('en-US')} B`;
    case 'usd':
      return `$${value.toFixed(2)}`;
    case 'count':
      return Math.round(value).toLocaleString('en-US');
  }
}

export interface Row {
  readonly path: string;
  readonly what: string;
  readonly measured: string;
  readonly target: string;
  /** '✓' met, '✗' missed, '' reported only or not measured. */
  readonly verdict: string;
}

/** The figures of the parts present in `results`, each with its value, target and verdict. */
export function rows(results: Results): Row[] {
  return FIGURES.filter((figure) => results[figure.part] !== undefined).map((figure) => {
    const value = valueAt(results, figure.path);
    const besideValue = figure.beside === undefined ? undefined : valueAt(results, figure.beside.path);
    const measured = formatValue(value, figure.unit) + (figure.beside === undefined || besideValue === undefined ? '' : ` (${figure.beside.label} ${formatValue(besideValue, figure.unit)})`);
    const verdict = value === undefined || figure.meets === undefined ? '' : figure.meets(value, results) ? '✓' : '✗';
    return { path: figure.path, what: figure.what, measured, target: figure.target, verdict };
  });
}

/** The rows as a Markdown table (the README's Benchmarks section). */
export function markdownTable(results: Results): string {
  const escape = (text: string): string => text.replaceAll('|', '\\|');
  const lines = ['| figure | what | measured | target | |', '| --- | --- | --- | --- | --- |'];
  for (const row of rows(results)) lines.push(`| \`${row.path}\` | ${escape(row.what)} | ${escape(row.measured)} | ${escape(row.target)} | ${row.verdict} |`);
  return lines.join('\n');
}
