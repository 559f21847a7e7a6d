/**
 * The end-of-run audit: for every node, replay the log up to the node's own cursor and compare the
 * result with every item of its replica. A replica is right when it is exactly that replay — same
 * keys, values, seqs and timestamps, a tombstone where the replay deleted a key — whatever faults
 * the run injected.
 */
import { canonicalJson, firstChainBreak, GENESIS_CHAIN } from '#shared/domain/chain.ts';
import type { LogReader, NodeRepository, ReplicaStore } from '#shared/domain/ports.ts';
import type { JsonValue, LogEntry, ReplicaItem } from '#shared/domain/types.ts';
import type { AuditResult } from './summary.ts';

/** Differences quoted in full; the rest are only counted. */
const MAX_EXAMPLES = 5;

interface Expected {
  readonly value?: JsonValue;
  readonly deleted: boolean;
  readonly seq: number;
  readonly updatedAt: string;
}

export interface AuditDeps {
  readonly stream: string;
  readonly log: LogReader;
  readonly nodes: NodeRepository;
  readonly replica: ReplicaStore;
}

export async function auditReplicas(nodeIds: readonly string[], deps: AuditDeps): Promise<AuditResult> {
  const examples: string[] = [];
  const note = (text: string): void => {
    if (examples.length < MAX_EXAMPLES) examples.push(text);
  };
  const nodes = await Promise.all(nodeIds.map(async (nodeId) => ({ nodeId, state: await deps.nodes.get(nodeId) })));
  const furthest = Math.max(0, ...nodes.map(({ state }) => state?.appliedSeq ?? 0));
  const log = await deps.log.readRange(deps.stream, 0, furthest);

  let mismatched = 0;
  let missing = 0;
  let extra = 0;
  const chainBreak = firstChainBreak(0, GENESIS_CHAIN, log);
  if (chainBreak !== undefined || log.length < furthest) {
    mismatched += 1;
    note(`the log itself does not verify: its hash chain breaks at seq ${chainBreak ?? log.length + 1}`);
  }

  for (const { nodeId, state } of nodes) {
    if (state === undefined) {
      missing += 1;
      note(`${nodeId}: the node is not registered`);
      continue;
    }
    const expected = replay(log, state.appliedSeq);
    const actual = new Map((await deps.replica.list(nodeId)).map((item) => [item.key, item]));
    for (const [key, want] of expected) {
      const have = actual.get(key);
      if (have === undefined) {
        missing += 1;
        note(`${nodeId} ${key}: missing; the log at seq ${state.appliedSeq} has ${describe(want)}`);
      } else if (!same(want, have)) {
        mismatched += 1;
        note(`${nodeId} ${key}: replica has ${describe(toExpected(have))}, the log at seq ${state.appliedSeq} has ${describe(want)}`);
      }
    }
    for (const [key, have] of actual) {
      if (!expected.has(key)) {
        extra += 1;
        note(`${nodeId} ${key}: extra ${describe(toExpected(have))}; the log up to seq ${state.appliedSeq} never wrote it`);
      }
    }
  }
  return { nodesChecked: nodes.length, mismatched, missing, extra, examples };
}

/** The state of every key after applying the log's seqs 1…cursor in order. */
function replay(log: readonly LogEntry[], cursor: number): Map<string, Expected> {
  const state = new Map<string, Expected>();
  for (const entry of log) {
    if (entry.seq > cursor) break;
    state.set(
      entry.key,
      entry.op === 'delete'
        ? { deleted: true, seq: entry.seq, updatedAt: entry.producedAt }
        : { ...(entry.value === undefined ? {} : { value: entry.value }), deleted: false, seq: entry.seq, updatedAt: entry.producedAt },
    );
  }
  return state;
}

function toExpected(item: ReplicaItem): Expected {
  return { ...(item.value === undefined ? {} : { value: item.value }), deleted: item.deleted === true, seq: item.seq, updatedAt: item.updatedAt };
}

function same(want: Expected, have: ReplicaItem): boolean {
  const got = toExpected(have);
  if (want.deleted !== got.deleted || want.seq !== got.seq || want.updatedAt !== got.updatedAt) return false;
  if (want.deleted) return true;
  return want.value !== undefined && got.value !== undefined && canonicalJson(want.value) === canonicalJson(got.value);
}

function describe(item: Expected): string {
  const what = item.deleted ? 'a tombstone' : `value ${item.value === undefined ? '(none)' : canonicalJson(item.value).slice(0, 60)}`;
  return `${what} at seq ${item.seq} (${item.updatedAt})`;
}
