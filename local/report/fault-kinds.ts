/**
 * The fault kinds the report shows, in the order it shows them: the fault bars and the per-interval
 * table both read this one list, and nothing else in the report names a fault kind.
 */
import type { FaultCounts } from '../summary.ts';

/** One fault kind as the report names it. */
export interface FaultKind {
  readonly kind: keyof FaultCounts;
  readonly label: string;
  /** For the per-interval table, where space is short. */
  readonly short: string;
  readonly description: string;
}

/** Every counter of `FaultCounts`, in the order the report lists them. */
export const FAULT_KINDS: readonly FaultKind[] = [
  { kind: 'duplicate', label: 'duplicate delivery', short: 'dup', description: 'A batch delivered to the applier twice' },
  { kind: 'crash', label: 'applier crash', short: 'crash', description: 'Effects kept, result lost, the batch comes back' },
  { kind: 'throttle', label: 'throttled request', short: 'throttle', description: 'DynamoDB answered with a throttling error' },
  { kind: 'poison', label: 'poison message', short: 'poison', description: 'A malformed message put on the queue' },
  { kind: 'plannerDuplicate', label: 'planner duplicate', short: 'planner dup', description: 'The same planner tick delivered more than once' },
  { kind: 'reorder', label: 'reordered batch', short: 'reorder', description: 'Records of a batch delivered in another order' },
  { kind: 'lose', label: 'lost token', short: 'lost', description: 'A token acknowledged without being applied (a paused node, a dead letter)' },
];
