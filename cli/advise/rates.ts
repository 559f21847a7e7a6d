/**
 * Where the advisor's node rates come from: `--rates 2,5,10`, a `--rates-file` (JSON, CSV, or one
 * rate per line), or the Nodes table of the deployment `--stack`/`--local` names (active nodes,
 * as the planner sees them).
 */
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { UsageError } from '#local/errors.ts';
import type { Deployment } from '../deployment.ts';
import type { NodeRate } from './model.ts';

/** A rate as the command line gives it: a positive, finite number of updates per second. */
function rateOf(raw: unknown, where: string): number {
  const rate = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
    throw new UsageError(`${where}: a rate must be a positive number of updates per second (got ${JSON.stringify(raw)})`);
  }
  return rate;
}

/** Rates without ids are named by position, as the tables and the page show them. */
function unnamed(rates: readonly unknown[], where: (index: number) => string): NodeRate[] {
  return rates.map((raw, index) => ({ nodeId: `node-${index + 1}`, rate: rateOf(raw, where(index)) }));
}

/** 1st, 2nd, 3rd, 4th, … 11th, 12th, 13th, … 21st: a place in a list as a person says it. */
function ordinal(place: number): string {
  const tens = place % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][place % 10] ?? 'th');
  return `${place}${suffix}`;
}

/** `--rates 2,5,10`; a bad value is named by its place ("the 2nd value"), not as a rate of that number. */
export function parseRatesList(text: string): NodeRate[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length === 0 || parts.every((part) => part === '')) throw new UsageError('--rates: give at least one rate, e.g. --rates 2,5,10');
  return unnamed(parts, (index) => `--rates, the ${ordinal(index + 1)} value`);
}

function fromJson(value: unknown, file: string): NodeRate[] {
  if (Array.isArray(value)) {
    return value.map((entry: unknown, index) => {
      if (typeof entry === 'number' || typeof entry === 'string') return { nodeId: `node-${index + 1}`, rate: rateOf(entry, `${file}, entry ${index + 1}`) };
      if (typeof entry === 'object' && entry !== null && 'rate' in entry) {
        const nodeId = 'nodeId' in entry && typeof entry.nodeId === 'string' && entry.nodeId !== '' ? entry.nodeId : `node-${index + 1}`;
        return { nodeId, rate: rateOf(entry.rate, `${file}, entry ${index + 1} (${nodeId})`) };
      }
      throw new UsageError(`${file}, entry ${index + 1}: expected a rate or { "nodeId", "rate" } (got ${JSON.stringify(entry)})`);
    });
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).map(([nodeId, rate]) => ({ nodeId, rate: rateOf(rate, `${file}, ${nodeId}`) }));
  }
  throw new UsageError(`${file}: expected a JSON array of rates, of { "nodeId", "rate" }, or an object of nodeId → rate`);
}

/** CSV `nodeId,rate` (a header line is skipped) or one rate per line; `#` starts a comment. */
function fromLines(text: string, file: string): NodeRate[] {
  const rows = text
    .split(/\r?\n/)
    .map((line, index) => ({ line: line.replace(/#.*$/, '').trim(), number: index + 1 }))
    .filter((row) => row.line !== '');
  const nodes: NodeRate[] = [];
  for (const [position, { line, number }] of rows.entries()) {
    const cells = line.split(',').map((cell) => cell.trim());
    const isHeader = position === 0 && cells.some((cell) => /^rate$/i.test(cell));
    if (isHeader) continue;
    if (cells.length === 1) nodes.push({ nodeId: `node-${nodes.length + 1}`, rate: rateOf(cells[0], `${file}, line ${number}`) });
    else if (cells.length === 2 && cells[0] !== '') nodes.push({ nodeId: cells[0] ?? '', rate: rateOf(cells[1], `${file}, line ${number}`) });
    else throw new UsageError(`${file}, line ${number}: expected "rate" or "nodeId,rate" (got ${JSON.stringify(line)})`);
  }
  return nodes;
}

/** A rates file's contents, by its shape: JSON when it starts with `[` or `{`, else CSV or one rate a line. */
export function parseRatesFile(text: string, file: string): NodeRate[] {
  // The text as it is, not trimmed: an error's line number is the one an editor shows.
  const trimmed = text.trim();
  let nodes: NodeRate[];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    nodes = fromJson(value, file);
  } else {
    nodes = fromLines(text, file);
  }
  if (nodes.length === 0) throw new UsageError(`${file}: holds no rates`);
  return nodes;
}

/** The active nodes of a deployment's Nodes table, with how many items were not valid nodes. */
export async function ratesFromDeployment(deployment: Deployment): Promise<{ readonly nodes: NodeRate[]; readonly rejected: number }> {
  const repository = new DynamoNodeRepository(deployment.clients.document, deployment.resources.nodesTable);
  const nodes: NodeRate[] = [];
  let rejected = 0;
  for await (const page of repository.scanActive()) {
    rejected += page.rejected.length;
    for (const node of page.nodes) if (node.status === 'active') nodes.push({ nodeId: node.nodeId, rate: node.rate });
  }
  nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  return { nodes, rejected };
}
