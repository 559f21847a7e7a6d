/**
 * The plan record of one segment (DESIGN §5): after a shard has planned the nodes of parallel-Scan
 * segment g for interval k and SQS has accepted their tokens, one item records every node's plan —
 * its plannedSeq and the stall clock — instead of one conditional claim per node. It is written
 * once, first writer wins: a duplicate or retried run of (k, g) either finds it and plans nothing,
 * or planned from the same record and sends the same deduplication ids.
 *
 * A node's history is the newest record of its segment before k. A node without one (new, or a
 * segment cut differently since) is planned from the plan fields of its Nodes item: a node's first
 * plan, a deployment from before these records, or a node whose record had no room (spilled: its
 * plan is claimed on its own item, as every plan was before).
 */
import { MicrobatchSyncError } from './errors.ts';
import type { NodeState, PlanTotals } from './types.ts';

/** One node's plan as its segment's record holds it. */
export interface PlanEntry {
  readonly nodeId: string;
  readonly plannedSeq: number;
  /** The cursor as the planner last saw it move, and since when it has not (the stall clock). */
  readonly progressSeq?: number;
  readonly progressInterval?: number;
}

/** The plan record of segment `segment` of `segments` for `interval`. */
export interface SegmentPlan {
  readonly stream: string;
  readonly segments: number;
  readonly segment: number;
  readonly interval: number;
  readonly plannedAt: string;
  readonly entries: readonly PlanEntry[];
  /** What the segment's plan added to the interval's totals: a retried shard reports it again from here. */
  readonly totals: PlanTotals;
}

/** A node's entry in a record, with the interval of that record. */
export interface PlanHistory {
  readonly entry: PlanEntry;
  readonly interval: number;
}

/**
 * The node as the planner sees it: its item, with the plan fields its record holds when the record
 * is its newest history. The item wins when it was claimed later (a spilled node), and a record
 * whose stall clock saw a cursor above today's belongs to an earlier life of the id (removed and
 * added again: the cursor only moves forward within one life).
 */
export function withPlanHistory(node: NodeState, history: PlanHistory | undefined): NodeState {
  if (history === undefined) return node;
  const { entry, interval } = history;
  if (entry.progressSeq !== undefined && entry.progressSeq > node.appliedSeq) return node;
  if (node.plannedInterval !== undefined && node.plannedInterval > interval) return node;
  // The record's stall clock replaces the item's, whichever fields each has.
  const rest: { -readonly [K in keyof NodeState]?: NodeState[K] } = { ...node };
  delete rest.progressSeq;
  delete rest.progressInterval;
  return {
    ...(rest as Omit<NodeState, 'progressSeq' | 'progressInterval'>),
    plannedSeq: entry.plannedSeq,
    plannedInterval: interval,
    ...(entry.progressSeq === undefined ? {} : { progressSeq: entry.progressSeq }),
    ...(entry.progressInterval === undefined ? {} : { progressInterval: entry.progressInterval }),
  };
}

/** The entry that carries a node's plan forward unchanged (not planned this interval). */
export function entryOf(node: NodeState): PlanEntry {
  return {
    nodeId: node.nodeId,
    plannedSeq: node.plannedSeq,
    ...(node.progressSeq === undefined ? {} : { progressSeq: node.progressSeq }),
    ...(node.progressInterval === undefined ? {} : { progressInterval: node.progressInterval }),
  };
}

/**
 * The entries as text: a line per node, `nodeId TAB plannedSeq TAB progressSeq TAB
 * progressInterval`, an absent field empty. Node ids never hold a tab or a line break (they are
 * SQS message group ids: printable ASCII without spaces).
 */
export function encodeEntries(entries: readonly PlanEntry[]): string {
  let text = '';
  for (const entry of entries) text += `${entry.nodeId}\t${entry.plannedSeq}\t${entry.progressSeq ?? ''}\t${entry.progressInterval ?? ''}\n`;
  return text;
}

/** A plan record's entries that cannot be read back. */
export class MalformedPlanEntriesError extends MicrobatchSyncError {
  constructor(
    readonly line: number,
    problem: string,
  ) {
    super(`plan record line ${line}: ${problem}`);
  }
}

function count(text: string, line: number, field: string): number {
  const value = Number(text);
  if (text === '' || !Number.isSafeInteger(value) || value < 0) throw new MalformedPlanEntriesError(line, `${field} is not a whole number ≥ 0 (got ${JSON.stringify(text)})`);
  return value;
}

/** Reads {@link encodeEntries}'s text. @throws MalformedPlanEntriesError naming the line. */
export function decodeEntries(text: string): PlanEntry[] {
  const entries: PlanEntry[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    const fields = line.split('\t');
    const [nodeId, plannedSeq, progressSeq, progressInterval] = fields;
    if (fields.length !== 4 || nodeId === undefined || nodeId === '' || plannedSeq === undefined || progressSeq === undefined || progressInterval === undefined) {
      throw new MalformedPlanEntriesError(index + 1, 'must be nodeId, plannedSeq, progressSeq and progressInterval separated by tabs');
    }
    entries.push({
      nodeId,
      plannedSeq: count(plannedSeq, index + 1, 'plannedSeq'),
      ...(progressSeq === '' ? {} : { progressSeq: count(progressSeq, index + 1, 'progressSeq') }),
      ...(progressInterval === '' ? {} : { progressInterval: count(progressInterval, index + 1, 'progressInterval') }),
    });
  });
  return entries;
}
