/**
 * What each op an update can carry means, declared once (STYLE, "One list for each thing"): the
 * ingest schema's enum and value rules (schemas.ts), the Log table's reader (log-store.ts) and the
 * replay that builds and checks every replica derive from {@link OPS}. A new op is its name in the
 * `Op` type (types.ts, which imports nothing, so that the vocabulary does not depend on this module)
 * and its entry here: `OPS` must define exactly the names of `Op`, or the compiler refuses it.
 *
 * Every op must overwrite its key entirely: the item it leaves depends on the entry alone, never on
 * what the key held before. Two things rely on it, both of which keep only the last entry for a key:
 * the replica's seq guard (a write lands only over an older seq, so a late delivery of an older
 * entry is dropped) and the applier's collapse of a key repeated within a microbatch to one write.
 * An op that merged into the stored value (an increment, an append) would need every entry of the
 * key, in order; neither keeps them.
 *
 * Free of zod, like microbatch.ts: the planner and checker bundles reach this module through the
 * log store.
 */
import type { LogEntry, Op, ReplicaItem } from './types.ts';

/** What an op is: the shape of an update that carries it, and what it does to a replica. */
interface OpDefinition {
  /** Whether an update with this op must carry a value, or must carry none. */
  readonly value: 'required' | 'forbidden';
  /**
   * The item the entry leaves at its key, whatever the key held before. It is given the entry alone,
   * so an op cannot read what it overwrites.
   */
  readonly item: (entry: LogEntry) => ReplicaItem;
}

/** Every op, by name. */
export const OPS = {
  put: {
    value: 'required',
    item: (entry) => ({ key: entry.key, ...(entry.value === undefined ? {} : { value: entry.value }), seq: entry.seq, updatedAt: entry.producedAt }),
  },
  /** Leaves a tombstone that keeps the delete's seq, so the seq guard still drops an older put delivered late. */
  delete: {
    value: 'forbidden',
    item: (entry) => ({ key: entry.key, deleted: true, seq: entry.seq, updatedAt: entry.producedAt }),
  },
} as const satisfies Record<Op, OpDefinition>;

/** The names of {@link OPS}, in declaration order. */
export const OP_NAMES = Object.keys(OPS) as [Op, ...Op[]];

/** A replica as a replay sees it: each key's item, tombstones included. */
export type Replica = Map<string, ReplicaItem>;

/**
 * Applies one log entry to `replica`: the entry's op decides the item its key holds from now on.
 * The key moves to the end of the map's order, so a replay lists each key where it was last
 * written. Pure but for the map it is given, which it updates in place (a replay of a long log
 * would otherwise copy the map once per entry) and returns.
 */
export function applyEntry(replica: Replica, entry: LogEntry): Replica {
  replica.delete(entry.key);
  return replica.set(entry.key, OPS[entry.op].item(entry));
}

/** The replica a node holds once it has applied `entries` (ascending by seq), from an empty one. */
export function replay(entries: Iterable<LogEntry>): Replica {
  const replica: Replica = new Map();
  for (const entry of entries) applyEntry(replica, entry);
  return replica;
}
