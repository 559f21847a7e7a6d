/**
 * The end-of-run audit: for every node, replay the log up to the node's own cursor and compare the
 * result with every item of its replica. A replica is right when it is exactly that replay — same
 * keys, values, seqs and timestamps, a tombstone where the replay deleted a key — whatever faults
 * the run injected.
 */
import { canonicalJson, firstChainBreak, GENESIS_CHAIN } from '#shared/domain/chain.ts';
import type { LogReader, NodeRepository, ReplicaStore } from '#shared/domain/ports.ts';
import { replay } from '#shared/domain/ops.ts';
import type { ReplicaItem } from '#shared/domain/types.ts';
import type { AuditResult } from './summary.ts';

/** Differences quoted in full; the rest are only counted. */
const MAX_EXAMPLES = 5;

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
    const cursor = state.appliedSeq;
    const expected = replay(log.filter((entry) => entry.seq <= cursor));
    const actual = new Map((await deps.replica.list(nodeId)).map((item) => [item.key, item]));
    for (const [key, want] of expected) {
      const have = actual.get(key);
      if (have === undefined) {
        missing += 1;
        note(`${nodeId} ${key}: missing; the log at seq ${state.appliedSeq} has ${describe(want)}`);
      } else if (!same(want, have)) {
        mismatched += 1;
        note(`${nodeId} ${key}: replica has ${describe(have)}, the log at seq ${state.appliedSeq} has ${describe(want)}`);
      }
    }
    for (const [key, have] of actual) {
      if (!expected.has(key)) {
        extra += 1;
        note(`${nodeId} ${key}: extra ${describe(have)}; the log up to seq ${state.appliedSeq} never wrote it`);
      }
    }
  }
  return { nodesChecked: nodes.length, mismatched, missing, extra, examples };
}

function same(want: ReplicaItem, have: ReplicaItem): boolean {
  if ((want.deleted === true) !== (have.deleted === true) || want.seq !== have.seq || want.updatedAt !== have.updatedAt) return false;
  if (want.deleted) return true;
  return want.value !== undefined && have.value !== undefined && canonicalJson(want.value) === canonicalJson(have.value);
}

function describe(item: ReplicaItem): string {
  const what = item.deleted ? 'a tombstone' : `value ${item.value === undefined ? '(none)' : canonicalJson(item.value).slice(0, 60)}`;
  return `${what} at seq ${item.seq} (${item.updatedAt})`;
}
