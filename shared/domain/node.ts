/**
 * Reading a Nodes item into a {@link NodeState} — the one rule for what a node is, shared by the
 * DynamoDB adapter and the in-memory port. Items can be written by hand (the README shows the AWS
 * CLI doing it), so a bad one must be reported, not thrown: one `rate` stored as a string must not
 * stop the planner and the checker for every other node (DESIGN §8).
 */
import { NODE_ID_PATTERN, NODE_ID_RULE } from './schemas.ts';
import type { NodeState, NodeStatus } from './types.ts';

/** A Nodes item that cannot be planned or judged, and why. */
export interface RejectedNode {
  /** The item's `nodeId` as stored (JSON of it when it is not a string). */
  readonly nodeId: string;
  /** The first attribute found wrong. */
  readonly attribute: string;
  /** What is wrong with it, e.g. `must be a positive number of updates per second (got "5")`. */
  readonly problem: string;
}

export const NODE_STATUSES: readonly NodeStatus[] = ['active', 'paused'];

type Item = Readonly<Record<string, unknown>>;

/** Thrown inside {@link readNodeItem} only; it becomes a {@link RejectedNode}. */
class Problem extends Error {
  constructor(
    readonly attribute: string,
    message: string,
  ) {
    super(message);
  }
}

function required<T>(item: Item, name: string, check: (value: unknown) => value is T, what: string): T {
  const value = item[name];
  if (value === undefined) throw new Problem(name, 'is missing');
  if (!check(value)) throw new Problem(name, `must be ${what} (got ${JSON.stringify(value)})`);
  return value;
}

function optional<T>(item: Item, name: string, check: (value: unknown) => value is T, what: string): T | undefined {
  return item[name] === undefined ? undefined : required(item, name, check, what);
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isRate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0;
const isNodeId = (value: unknown): value is string => typeof value === 'string' && NODE_ID_PATTERN.test(value);
const isStatus = (value: unknown): value is NodeStatus => NODE_STATUSES.some((status) => status === value);
const isChain = (value: unknown): value is string => typeof value === 'string' && value !== '';

/**
 * The node an item describes, or the first problem that keeps it from being one: an id SQS would
 * refuse as a message group id, a rate that is not a positive number (0, negative, a string), an
 * unknown status, or a cursor that is not a whole number.
 */
export function readNodeItem(item: Item): { readonly node: NodeState } | { readonly rejected: RejectedNode } {
  try {
    const base: NodeState = {
      nodeId: required(item, 'nodeId', isNodeId, NODE_ID_RULE),
      rate: required(item, 'rate', isRate, 'a positive number of updates per second'),
      status: required(item, 'status', isStatus, `one of ${NODE_STATUSES.join(', ')}`),
      appliedSeq: required(item, 'appliedSeq', isCount, 'a whole number ≥ 0'),
      appliedChain: required(item, 'appliedChain', isChain, 'a non-empty string'),
      plannedSeq: required(item, 'plannedSeq', isCount, 'a whole number ≥ 0'),
    };
    const extra = {
      appliedAt: optional(item, 'appliedAt', isString, 'a string'),
      plannedAt: optional(item, 'plannedAt', isString, 'a string'),
      plannedInterval: optional(item, 'plannedInterval', isCount, 'a whole number ≥ 0'),
      progressSeq: optional(item, 'progressSeq', isCount, 'a whole number ≥ 0'),
      progressInterval: optional(item, 'progressInterval', isCount, 'a whole number ≥ 0'),
      lastProducedAt: optional(item, 'lastProducedAt', isString, 'a string'),
    };
    const present = Object.fromEntries(Object.entries(extra).filter(([, value]) => value !== undefined)) as Partial<NodeState>;
    return { node: { ...base, ...present } };
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    const nodeId = item.nodeId;
    return {
      rejected: { nodeId: typeof nodeId === 'string' ? nodeId : (JSON.stringify(nodeId) ?? 'undefined'), attribute: error.attribute, problem: error.message },
    };
  }
}
