/** The one paged audit: the log read in windows, in cursor order, each replica page by page. */
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { replay } from '#shared/domain/ops.ts';
import type { LogEntry, NewUpdate, ReplicaItem } from '#shared/domain/types.ts';
import { chainEntries } from '#shared/usecases/append-updates.ts';
import { auditTargets, type AuditDeps, type AuditProgress } from '#local/audit.ts';

const UPDATES: NewUpdate[] = Array.from({ length: 10 }, (_, index) => (index === 6 ? { key: 'k1', op: 'delete' } : { key: `k${index % 4}`, op: 'put', value: index }));
const LOG: LogEntry[] = chainEntries({ head: 0, headChain: GENESIS_CHAIN }, UPDATES, '2025-01-01T00:00:00.000Z');

/** A log that records its reads, and replicas served two items per page. */
function deps(replicas: Record<string, readonly ReplicaItem[]>, log: readonly LogEntry[] = LOG): AuditDeps & { reads: [number, number][]; progress: AuditProgress[] } {
  const reads: [number, number][] = [];
  const progress: AuditProgress[] = [];
  return {
    stream: 'main',
    logWindow: 3,
    reads,
    progress,
    onProgress: (event) => progress.push(event),
    log: {
      readRange: (_stream, from, to) => {
        reads.push([from, to]);
        return Promise.resolve(log.filter((entry) => entry.seq > from && entry.seq <= to));
      },
    },
    replica: {
      async *pages(nodeId) {
        const items = [...(replicas[nodeId] ?? [])].sort((a, b) => a.key.localeCompare(b.key));
        for (let start = 0; start < items.length; start += 2) yield await Promise.resolve(items.slice(start, start + 2));
      },
    },
  };
}

const replicaAt = (seq: number): ReplicaItem[] => [...replay(LOG.slice(0, seq)).values()];

describe('auditTargets', () => {
  it('reads the log once, in windows, and audits each node at its own cursor', async () => {
    // Prepare
    const audit = deps({ behind: replicaAt(4), ahead: replicaAt(10) });

    // Act
    const result = await auditTargets([{ nodeId: 'ahead', appliedSeq: 10 }, { nodeId: 'behind', appliedSeq: 4 }], audit);

    // Assess
    expect(audit.reads).toEqual([[0, 3], [3, 4], [4, 7], [7, 10]]);
    expect(result).toMatchObject({ nodesChecked: 2, mismatched: 0, missing: 0, extra: 0, examples: [], logEntriesRead: 10 });
    expect(result.nodes.map(({ nodeId, itemsCompared }) => [nodeId, itemsCompared])).toEqual([['ahead', 4], ['behind', 4]]);
    expect(audit.progress.filter((event) => event.kind === 'log').reduce((sum, event) => sum + event.seqs, 0)).toBe(10);
  });

  it('counts and quotes a changed value, a missing key and an extra key, for the node they are on', async () => {
    // Prepare
    const [first, ...rest] = replicaAt(10).sort((a, b) => a.key.localeCompare(b.key));
    const changed = { ...first, value: 'edited' } as ReplicaItem;
    const extra: ReplicaItem = { key: 'zz', value: 1, seq: 1, updatedAt: '2025-01-01T00:00:00.000Z' };
    const audit = deps({ n: [changed, ...rest.slice(1), extra] });

    // Act
    const result = await auditTargets([{ nodeId: 'n', appliedSeq: 10 }], audit);

    // Assess
    expect(result).toMatchObject({ mismatched: 1, missing: 1, extra: 1 });
    expect(result.differences.map(({ key, kind }) => [key, kind])).toEqual([
      [first?.key, 'mismatched'],
      ['zz', 'extra'],
      [rest[0]?.key, 'missing'],
    ]);
    expect(result.examples[0]).toMatch(/^n k0: replica has value "edited"/);
  });

  it('words each kind of difference as the replay up to the cursor against the seq that wrote the item', async () => {
    // Prepare: by seq 10, k0 was last written at seq 9 (value 8) and k1 at seq 10 (value 9); by
    // seq 9, k1 was deleted at seq 7. zz was never written.
    const byKey = (items: ReplicaItem[]): ReplicaItem[] => items.sort((a, b) => a.key.localeCompare(b.key));
    const [first, , ...others] = byKey(replicaAt(10));
    const changed = { ...first, value: 'edited' } as ReplicaItem;
    const extra: ReplicaItem = { key: 'zz', value: 1, seq: 1, updatedAt: '2025-01-01T00:00:00.000Z' };
    const behind = byKey(replicaAt(9)).filter((item) => item.key !== 'k1');
    const at = '2025-01-01T00:00:00.000Z';

    // Act
    const result = await auditTargets(
      [
        { nodeId: 'n', appliedSeq: 10 },
        { nodeId: 'm', appliedSeq: 9 },
      ],
      deps({ n: [changed, ...others, extra], m: behind }),
    );

    // Assess
    expect(result.examples).toEqual([
      `n k0: replica has value "edited" (written at seq 9, ${at}); the log replayed to seq 10 has value 8 (written at seq 9, ${at})`,
      `n zz: replica has value 1 (written at seq 1, ${at}); the log replayed to seq 10 never wrote the key`,
      `n k1: replica has no item; the log replayed to seq 10 has value 9 (written at seq 10, ${at})`,
      `m k1: replica has no item; the log replayed to seq 9 has a tombstone (deleted at seq 7, ${at})`,
    ]);
  });

  it('reports a log whose hash chain does not verify, at the first bad seq', async () => {
    // Prepare
    const tampered = LOG.map((entry) => (entry.seq === 5 ? { ...entry, value: 'forged' } : entry));
    const audit = deps({ n: [...replay(tampered).values()] }, tampered);

    // Act
    const result = await auditTargets([{ nodeId: 'n', appliedSeq: 10 }], audit);

    // Assess
    expect(result.chainBreak).toBe(5);
    expect(result.mismatched).toBe(1);
    expect(result.examples).toEqual(['the log itself does not verify: its hash chain breaks at seq 5']);
  });

  it('reports entries missing from the log below a cursor as a break of the chain', async () => {
    // Act
    const result = await auditTargets([{ nodeId: 'n', appliedSeq: 12 }], deps({ n: replicaAt(10) }));

    // Assess
    expect(result.chainBreak).toBe(11);
  });
});
