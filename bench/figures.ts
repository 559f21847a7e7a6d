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
  /** A figure computed from others (its `path` then only names it); undefined while one is missing. */
  readonly derive?: (results: Results) => number | undefined;
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

const HALF_INTERVAL = '< 30,000 ms (t / 2)';

/** A planner fleet's figures: both fleets' shard wall beside the budget, steady state's calls a node beside theirs. */
function plannerFigures(size: 'nodes1M' | 'nodes100k', nodes: string): Figure[] {
  const at = (kind: 'steady' | 'catchUp', rest: string): string => `planner.${size}.${kind}.${rest}`;
  const sends = (kind: 'steady' | 'catchUp'): Figure => ({
    part: 'planner',
    path: at(kind, 'shard.sendMessageBatchCalls'),
    what: 'SendMessageBatch calls of that shard',
    target: '= ceil(messages / 10)',
    unit: 'count',
    meets: (v, results) => v === Math.ceil((valueAt(results, at(kind, 'shard.messages')) ?? Number.NaN) / 10),
  });
  return [
    {
      part: 'planner',
      path: at('steady', 'shard.wallMs'),
      what: `planner shard wall, ${nodes} nodes in steady state (1 token a node), every SDK call 10 ms, the SDK's CPU in it (CPU beside)`,
      target: HALF_INTERVAL,
      unit: 'ms',
      meets: (v) => v < 30_000,
      beside: { label: 'CPU', path: at('steady', 'shard.wallCpuMs') },
    },
    { part: 'planner', path: at('steady', 'shard.cpuMs'), what: "that shard's CPU answered at once, the SDK's included (median of the shards run)", target: 'reported', unit: 'ms' },
    {
      part: 'planner',
      path: at('steady', 'fleet.callsPerPlannedNode'),
      what: 'SDK calls of the interval per planned node, steady state, every shard and the coordinator',
      target: '≤ 0.25',
      unit: 'ratio',
      meets: (v) => v <= 0.25,
    },
    { part: 'planner', path: at('steady', 'shards'), what: 'shards S of the cut (B Scan segments, 50,000 nodes a shard)', target: 'reported', unit: 'count' },
    sends('steady'),
    {
      part: 'planner',
      path: at('catchUp', 'shard.wallMs'),
      what: `planner shard wall, ${nodes} nodes catching up (1–5 tokens a node), every SDK call 10 ms (CPU beside)`,
      target: HALF_INTERVAL,
      unit: 'ms',
      meets: (v) => v < 30_000,
      beside: { label: 'CPU', path: at('catchUp', 'shard.wallCpuMs') },
    },
    { part: 'planner', path: at('catchUp', 'shard.cpuMs'), what: "that shard's CPU answered at once, the SDK's included", target: 'reported', unit: 'ms' },
    { part: 'planner', path: at('catchUp', 'fleet.callsPerPlannedNode'), what: 'SDK calls of the interval per planned node, catching up', target: 'reported', unit: 'ratio' },
    sends('catchUp'),
    { part: 'planner', path: at('catchUp', 'fleet.messages'), what: 'tokens the interval sends, catching up (every shard)', target: 'reported', unit: 'count' },
  ];
}

/** A checker fleet's figures: the merging shard's wall beside the budget, the verdict beside its. */
function checkerFigures(size: 'nodes1M' | 'nodes100k', nodes: string): Figure[] {
  const at = (rest: string): string => `checker.${size}.${rest}`;
  return [
    {
      part: 'checker',
      path: at('shard.wallMs'),
      what: `checker shard wall, ${nodes} nodes, 60 open intervals, the tick's last shard (it merges and writes the verdicts), every SDK call 10 ms (CPU beside)`,
      target: HALF_INTERVAL,
      unit: 'ms',
      meets: (v) => v < 30_000,
      beside: { label: 'CPU', path: at('shard.wallCpuMs') },
    },
    { part: 'checker', path: at('shard.cpuMs'), what: "that shard's CPU answered at once, the SDK's included (the merge beside)", target: 'reported', unit: 'ms', beside: { label: 'merge', path: at('shard.mergeCpuMs') } },
    { part: 'checker', path: at('shard.verdictBytes'), what: 'largest interval record after its verdict, as the adapter writes it', target: '< 8,192 bytes', unit: 'bytes', meets: (v) => v < 8_192 },
    { part: 'checker', path: at('shard.partialBytes'), what: "a shard's partial tally as stored", target: 'reported', unit: 'bytes' },
  ];
}

export const FIGURES: readonly Figure[] = [
  { part: 'apply', path: 'apply.wruPerUpdate.microbatch', what: 'write units per applied update, b = 100, distinct keys', target: '≤ 1.02 (floor 1 + 1/b)', unit: 'ratio', meets: (v) => v <= 1.02, beside: dynamoLocal('microbatch') },
  { part: 'apply', path: 'apply.wruPerUpdate.microbatchRepeatedKeys', what: 'the same, keys repeating inside a microbatch (25 keys)', target: '< 1', unit: 'ratio', meets: (v) => v < 1, beside: dynamoLocal('microbatchRepeatedKeys') },
  { part: 'apply', path: 'apply.wruPerUpdate.seedBaseline', what: "the seed's way: a conditional write and a timestamp write per update", target: 'reported', unit: 'ratio', beside: dynamoLocal('seedBaseline') },
  { part: 'apply', path: 'apply.wruPerUpdate.transactional', what: 'the b = 100 writes in TransactWriteItems', target: 'reported', unit: 'ratio', beside: dynamoLocal('transactional') },
  ...plannerFigures('nodes1M', '1,000,000'),
  ...plannerFigures('nodes100k', '100,000'),
  { part: 'planner', path: 'planner.longIds.largestRecordBytes', what: 'largest plan record (one item per segment and interval), 64-character ids', target: 'reported (item limit 409,600 B)', unit: 'bytes' },
  { part: 'planner', path: 'planner.nodes1M.steady.oldDesign.callsPerPlannedNode', what: "the old design's SDK calls per planned node, steady state (a conditional claim per node)", target: 'reported', unit: 'ratio' },
  { part: 'planner', path: 'planner.nodes1M.steady.oldDesign.claimSdkCpuMs', what: "the old design's claims at 1,000,000 nodes: their SDK CPU alone", target: 'reported', unit: 'ms' },
  { part: 'planner', path: 'planner.fanOut.invokeOverBatch', what: 'SDK CPU per shard task: async Lambda Invoke / SendMessageBatch of 10 tasks', target: 'reported', unit: 'times' },
  { part: 'planner', path: 'planner.nodes1M.steady.cost.total', what: 'USD per million node-intervals, planner (coordinator, shards, plan records), 1,000,000 nodes steady', target: 'reported', unit: 'usd' },
  { part: 'planner', path: 'planner.nodes1M.catchUp.cost.total', what: 'the same, catching up (1–5 tokens a node)', target: 'reported', unit: 'usd' },
  { part: 'planner', path: 'planner.oldClaimsCostPerMillion', what: "USD per million node-intervals of the old design's claims alone (1 write unit each)", target: 'reported', unit: 'usd' },
  ...checkerFigures('nodes1M', '1,000,000'),
  ...checkerFigures('nodes100k', '100,000'),
  { part: 'checker', path: 'checker.nodes1M.cost.total', what: 'USD per million node-intervals, checker (coordinator, shards, merge, verdicts), 1,000,000 nodes', target: 'reported', unit: 'usd' },
  {
    part: 'checker',
    path: 'plannerAndChecker.costPerMillionNodeIntervals',
    what: 'USD per million node-intervals, planner (steady) + checker at 1,000,000 nodes',
    target: 'reported',
    unit: 'usd',
    derive: (results) => {
      const planner = valueAt(results, 'planner.nodes1M.steady.cost.total');
      const checker = valueAt(results, 'checker.nodes1M.cost.total');
      return planner === undefined || checker === undefined ? undefined : planner + checker;
    },
  },
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
      // Cents, or four decimals for the fractions of a cent per million node-intervals.
      return `$${value.toFixed(value < 0.1 ? 4 : 2)}`;
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
    const value = figure.derive === undefined ? valueAt(results, figure.path) : figure.derive(results);
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
