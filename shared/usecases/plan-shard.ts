/**
 * One planner shard (DESIGN §5): plans the nodes of its range of parallel-Scan segments for interval
 * k against H_k, sends their tokens, then records each segment's plan in one item (segment-plan.ts)
 * — no conditional claim per node — and reports its totals to the plan header once.
 *
 * - A segment's history is its newest plan record before k (after a change of B, the records of the
 *   old segments that cover it). A record for k itself means an earlier run planned the segment:
 *   nothing is sent again, its totals are reported from the record.
 * - Send first, then record: a segment is recorded only once all its tokens are handed to SQS. A
 *   crash in between leaves the history as it was, so a retry (or the next interval) plans the same
 *   targets again — the same deduplication ids within SQS's window, the same targets after it — and
 *   the applier finds the work done. A node never gets two shares in one interval.
 * - Tokens leave in calls of 10 across segments: a shard makes exactly ceil(tokens / 10)
 *   SendMessageBatch calls.
 * - A task that arrives once a later tick has written its header is stale: that tick plans the
 *   segments again. It is acknowledged without work and reported as expired, so the checker knows
 *   interval k was not planned whole.
 */
import type { RejectedNode } from '#shared/domain/node.ts';
import { planNode, type NodePlan, type PlanningRules, type SkipReason } from '#shared/domain/plan.ts';
import type { ConvergenceStore, MicrobatchQueue, NodeRepository, PlanLedger, UnsentMicrobatch } from '#shared/domain/ports.ts';
import { entryOf, withPlanHistory, type PlanEntry, type PlanHistory } from '#shared/domain/segment-plan.ts';
import { coveringSegments, segmentsOfShard } from '#shared/domain/sharding.ts';
import type { PlanTask } from '#shared/domain/shard-task.ts';
import { addPlanTotals, NO_PLAN_TOTALS, type Microbatch, type PlanTotals } from '#shared/domain/types.ts';

export interface PlanShardDeps {
  readonly rules: PlanningRules;
  readonly retentionDays: number;
  readonly nodes: Pick<NodeRepository, 'scanSegment' | 'claimPlan'>;
  readonly ledger: PlanLedger;
  readonly queue: MicrobatchQueue;
  readonly convergence: Pick<ConvergenceStore, 'reportPlanShard' | 'latestPlanHeader'>;
  /**
   * Tokens handed to the queue at once; rounded down to a multiple of 10. The default, 3,200, is ten
   * full rounds of the SQS adapter's 32 parallel calls of 10 entries: no round leaves calls idle.
   */
  readonly sendChunk?: number;
  /** Told about every page's invalid Nodes items, so each is logged with its key. */
  readonly onRejected?: (rejected: readonly RejectedNode[]) => void;
  /** Told about tokens SQS did not accept after the adapter's retries: their nodes stay unplanned. */
  readonly onUnsent?: (unsent: readonly UnsentMicrobatch[]) => void;
}

export interface PlanShardResult {
  readonly interval: number;
  readonly shard: number;
  readonly shards: number;
  /** The task came after a later tick had written its header: nothing was planned. */
  readonly expired: boolean;
  /** Whether this run counted the shard in the header (false: an earlier run of the shard had). */
  readonly reported: boolean;
  /** The segments this run planned, and those an earlier run had planned (their totals are the record's). */
  readonly segmentsPlanned: number;
  readonly segmentsAlreadyPlanned: number;
  readonly totals: PlanTotals;
  /** Of this run's active nodes, why each one skipped was skipped. */
  readonly skipped: Readonly<Record<SkipReason, number>>;
  /** Active nodes with no entry in their segment's history: planned from their items' plan fields. */
  readonly withoutHistory: number;
  /** Nodes that did not fit their segment's record: their plans were claimed on their own items. */
  readonly spilled: number;
  /** Of those claims, the ones another run of the segment had won. */
  readonly claimsLost: number;
}

const SEND_CALL_ENTRIES = 10;

export async function planShard(task: PlanTask, deps: PlanShardDeps): Promise<PlanShardResult> {
  const base = { interval: task.interval, shard: task.shard, shards: task.shards };
  const skipped: Record<SkipReason, number> = { 'already-planned': 0, 'caught-up': 0, 'in-flight-cap': 0, 'awaiting-outstanding': 0 };
  // The newest header of the stream: a later one means the next tick has cut the work anew.
  const newest = await deps.convergence.latestPlanHeader(task.stream, Number.MAX_SAFE_INTEGER);
  if (newest !== undefined && newest.interval > task.interval) {
    const reported = await deps.convergence.reportPlanShard(task.stream, task.interval, task.shard, { expired: true });
    return { ...base, expired: true, reported, segmentsPlanned: 0, segmentsAlreadyPlanned: 0, totals: NO_PLAN_TOTALS, skipped, withoutHistory: 0, spilled: 0, claimsLost: 0 };
  }
  const run = new ShardRun(task, deps, skipped);
  for (const segment of segmentsOfShard(task.shard, task)) await run.plan(segment);
  await run.finish();
  const reported = await deps.convergence.reportPlanShard(task.stream, task.interval, task.shard, { totals: run.totals });
  return { ...base, expired: false, reported, ...run.outcome(), skipped };
}

/** One segment between planning and its record: its entries, and its tokens not yet handed to SQS. */
interface SegmentWork {
  readonly segment: number;
  readonly entries: PlanEntry[];
  /** Per planned node: its position in `entries` and its entry before this plan. */
  readonly planned: Map<string, { readonly index: number; readonly before: PlanEntry }>;
  /** Every node's plannedSeq as its item holds it: the condition of a spill claim. */
  readonly itemPlannedSeqs: Map<string, number>;
  readonly unsent: Set<string>;
  totals: PlanTotals;
  pending: number;
}

class ShardRun {
  totals: PlanTotals = NO_PLAN_TOTALS;
  private readonly chunkSize: number;
  private readonly expiresAt: number;
  private buffer: { readonly microbatch: Microbatch; readonly work: SegmentWork }[] = [];
  private waiting: SegmentWork[] = [];
  private counts = { segmentsPlanned: 0, segmentsAlreadyPlanned: 0, withoutHistory: 0, spilled: 0, claimsLost: 0 };

  constructor(
    private readonly task: PlanTask,
    private readonly deps: PlanShardDeps,
    private readonly skipped: Record<SkipReason, number>,
  ) {
    const chunk = deps.sendChunk ?? 3_200;
    this.chunkSize = Math.max(SEND_CALL_ENTRIES, chunk - (chunk % SEND_CALL_ENTRIES));
    this.expiresAt = Math.floor(Date.parse(task.plannedAt) / 1000) + deps.retentionDays * 86_400;
  }

  outcome(): Omit<PlanShardResult, 'interval' | 'shard' | 'shards' | 'expired' | 'reported' | 'skipped'> {
    return { ...this.counts, totals: this.totals };
  }

  /** Plans one segment and hands its tokens to the send buffer; it is recorded once they are all sent. */
  async plan(segment: number): Promise<void> {
    const { task, deps } = this;
    const prior = await deps.ledger.latest(task.stream, task.segments, segment, task.interval);
    if (prior?.interval === task.interval) {
      this.counts.segmentsAlreadyPlanned += 1;
      this.totals = addPlanTotals(this.totals, prior.totals);
      return;
    }
    const history = await this.history(segment, prior);
    const work: SegmentWork = { segment, entries: [], planned: new Map(), itemPlannedSeqs: new Map(), unsent: new Set(), totals: NO_PLAN_TOTALS, pending: 0 };
    const totals = { ...NO_PLAN_TOTALS };
    const tokens: Microbatch[] = [];
    for await (const page of deps.nodes.scanSegment(segment, task.segments, { includePaused: true })) {
      totals.scannedItems += page.scanned;
      if (page.rejected.length > 0) {
        totals.rejectedNodes += page.rejected.length;
        deps.onRejected?.(page.rejected);
      }
      for (const item of page.nodes) {
        const found = history.get(item.nodeId);
        const node = withPlanHistory(item, found);
        const before = entryOf(node);
        work.itemPlannedSeqs.set(item.nodeId, item.plannedSeq);
        if (node.status !== 'active') {
          work.entries.push(before);
          continue;
        }
        totals.activeNodes += 1;
        if (found === undefined) this.counts.withoutHistory += 1;
        const decision = planNode(node, task.head, task.interval, task.plannedAt, deps.rules);
        if (decision.kind === 'skip') {
          this.skipped[decision.reason] += 1;
          work.entries.push(before);
          continue;
        }
        count(totals, decision);
        work.planned.set(node.nodeId, { index: work.entries.length, before });
        work.entries.push({ nodeId: node.nodeId, ...decision.claim });
        for (const microbatch of decision.microbatches) tokens.push(microbatch);
      }
    }
    work.totals = totals;
    work.pending = tokens.length;
    for (const microbatch of tokens) this.buffer.push({ microbatch, work });
    this.waiting.push(work);
    while (this.buffer.length >= this.chunkSize) await this.send(this.chunkSize);
    await this.recordReady();
  }

  /** Sends what is left and records the segments still waiting. */
  async finish(): Promise<void> {
    if (this.buffer.length > 0) await this.send(this.buffer.length);
    await this.recordReady();
  }

  /**
   * The entries the nodes of `segment` were last planned with: the segment's newest record, or,
   * when the header says B changed since the last interval, the records of the old segments that
   * cover its hash range (the newest entry of a node wins).
   */
  private async history(segment: number, prior: Awaited<ReturnType<PlanLedger['latest']>>): Promise<Map<string, PlanHistory>> {
    const { task, deps } = this;
    const records =
      task.previousSegments === task.segments
        ? [prior]
        : await Promise.all(coveringSegments(segment, task.segments, task.previousSegments).map((old) => deps.ledger.latest(task.stream, task.previousSegments, old, task.interval - 1)));
    const history = new Map<string, PlanHistory>();
    for (const record of records) {
      if (record === undefined) continue;
      for (const entry of record.entries) {
        const known = history.get(entry.nodeId);
        if (known === undefined || known.interval < record.interval) history.set(entry.nodeId, { entry, interval: record.interval });
      }
    }
    return history;
  }

  private async send(count: number): Promise<void> {
    const chunk = this.buffer.slice(0, count);
    this.buffer = this.buffer.slice(count);
    const unsent = await this.deps.queue.send(chunk.map(({ microbatch }) => microbatch));
    if (unsent.length > 0) {
      const owners = new Map(chunk.map(({ microbatch, work }) => [microbatch, work]));
      for (const { microbatch } of unsent) owners.get(microbatch)?.unsent.add(microbatch.nodeId);
      this.deps.onUnsent?.(unsent);
    }
    for (const { work } of chunk) work.pending -= 1;
  }

  /** Records, in order, every waiting segment whose tokens have all been handed to SQS. */
  private async recordReady(): Promise<void> {
    while (this.waiting[0]?.pending === 0) {
      const work = this.waiting.shift();
      if (work !== undefined) await this.record(work);
    }
  }

  private async record(work: SegmentWork): Promise<void> {
    const { task, deps } = this;
    // A node some of whose tokens SQS refused keeps its plan as it was: the next interval plans it again.
    for (const nodeId of work.unsent) {
      const planned = work.planned.get(nodeId);
      if (planned === undefined) continue;
      work.entries[planned.index] = planned.before;
      work.planned.delete(nodeId);
    }
    const totals = { ...work.totals, unsentNodes: work.unsent.size };
    const { committed, spilled } = await deps.ledger.commit(
      { stream: task.stream, segments: task.segments, segment: work.segment, interval: task.interval, plannedAt: task.plannedAt, entries: work.entries, totals },
      this.expiresAt,
    );
    this.counts.segmentsPlanned += 1;
    this.totals = addPlanTotals(this.totals, totals);
    if (!committed) return;
    // Entries the record had no room for: each node's plan on its own item, as a conditional claim.
    this.counts.spilled += spilled.length;
    const claims = await Promise.all(
      spilled.map((entry) =>
        deps.nodes.claimPlan(entry.nodeId, work.itemPlannedSeqs.get(entry.nodeId) ?? 0, {
          plannedSeq: entry.plannedSeq,
          plannedAt: task.plannedAt,
          plannedInterval: task.interval,
          progressSeq: entry.progressSeq ?? 0,
          progressInterval: entry.progressInterval ?? task.interval,
        }),
      ),
    );
    this.counts.claimsLost += claims.filter((won) => !won).length;
  }
}

/** Adds one plan to a segment's totals. */
function count(totals: { -readonly [K in keyof PlanTotals]: number }, plan: NodePlan): void {
  if (plan.purpose === 'observe') totals.observations += 1;
  else totals.nodesPlanned += 1;
  if (plan.purpose === 'resend') totals.resends += 1;
  totals.microbatches += plan.microbatches.length;
  totals.updatesPlanned += plan.updates;
}
