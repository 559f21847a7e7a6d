/**
 * The planner's use case (DESIGN §5): give every active node its part of interval k, send the
 * tokens, then claim each node's plan.
 *
 * - The plan header comes first and is first-writer-wins: every run of k (a retry after a crash, a
 *   duplicate delivery) plans against the head the header holds, so the header's H_k is the head
 *   the plans of k were really made against.
 * - Nodes arrive page by page and tokens leave in chunks while the scan goes on, so a fleet of any
 *   size is planned in bounded memory; chunks are multiples of 10 messages, so n tokens take exactly
 *   ceil(n / 10) SendMessageBatch calls (100,000 nodes, 315,637 tokens, every call 10 ms: 31,564
 *   calls and 100,000 claims in ~11 s, bench/parts/planner.ts).
 * - Send first, then claim: a node is claimed only once all its tokens are accepted. A crash in
 *   between leaves tokens the next run re-sends under the same deduplication ids (same header head,
 *   same plannedSeq, same target) and the applier acknowledges as done.
 */
import pLimit from 'p-limit';
import type { RejectedNode } from '#shared/domain/node.ts';
import { planNode, type NodePlan, type PlanningRules, type SkipReason } from '#shared/domain/plan.ts';
import type { ConvergenceStore, LogReader, MicrobatchQueue, NodeRepository, UnsentMicrobatch } from '#shared/domain/ports.ts';
import type { Microbatch } from '#shared/domain/types.ts';

export interface PlanIntervalDeps {
  readonly rules: PlanningRules;
  readonly retentionDays: number;
  readonly log: LogReader;
  readonly nodes: NodeRepository;
  readonly queue: MicrobatchQueue;
  readonly convergence: ConvergenceStore;
  /** Conditional claims in flight at once (default 128: 100,000 claims of 10 ms each in ~8 s). */
  readonly claimConcurrency?: number;
  /**
   * Tokens handed to the queue at once; rounded down to a multiple of 10. The default, 3,200, is ten
   * full rounds of the SQS adapter's 32 parallel calls of 10 entries: no round leaves calls idle.
   */
  readonly sendChunk?: number;
  /** Told about every page's invalid Nodes items, so each is logged with its key. */
  readonly onRejected?: (rejected: readonly RejectedNode[]) => void;
  /** Told about tokens SQS did not accept after the adapter's retries: their nodes stay unclaimed. */
  readonly onUnsent?: (unsent: readonly UnsentMicrobatch[]) => void;
}

export interface PlanIntervalResult {
  readonly interval: number;
  /** H_k: the head in the plan header, which every run of k plans against. */
  readonly head: number;
  /** Whether this run wrote the plan header (false: an earlier run of k did). */
  readonly headerWritten: boolean;
  readonly activeNodes: number;
  /** Nodes that were sent tokens. */
  readonly nodesPlanned: number;
  readonly microbatches: number;
  /** New updates planned: Σ q_i. */
  readonly updatesPlanned: number;
  /** Nodes whose outstanding tokens were re-sent because their cursor stood still for staleAfterIntervals. */
  readonly resends: number;
  /** Claims that only recorded a node's progress (no tokens). */
  readonly observations: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
  /** Nodes items that are not valid nodes: skipped, reported through `onRejected`. */
  readonly rejectedNodes: number;
  /** Claims another planner run won: its tokens carry the same deduplication ids when it planned the same. */
  readonly claimsLost: number;
  /** Nodes left unclaimed because some of their tokens were not accepted (the next run or interval re-plans them). */
  readonly unsentNodes: number;
}

const SEND_CALL_ENTRIES = 10;

export async function planInterval(
  input: { readonly interval: number; readonly plannedAt: Date },
  deps: PlanIntervalDeps,
): Promise<PlanIntervalResult> {
  const { rules } = deps;
  const plannedAt = input.plannedAt.toISOString();
  const current = await deps.log.readHead(rules.stream);
  const expiresAt = Math.floor(input.plannedAt.getTime() / 1000) + deps.retentionDays * 86_400;
  const { written: headerWritten, header } = await deps.convergence.putPlanHeader(
    { stream: rules.stream, interval: input.interval, head: current.head, headChain: current.headChain, plannedAt },
    expiresAt,
  );

  const skipped: Record<SkipReason, number> = { 'already-planned': 0, 'caught-up': 0, 'in-flight-cap': 0, 'awaiting-outstanding': 0 };
  const totals = { activeNodes: 0, nodesPlanned: 0, microbatches: 0, updatesPlanned: 0, resends: 0, observations: 0, rejectedNodes: 0 };
  const pipeline = new SendThenClaim(deps, input.interval, plannedAt);
  for await (const page of deps.nodes.scanActive()) {
    if (page.rejected.length > 0) {
      totals.rejectedNodes += page.rejected.length;
      deps.onRejected?.(page.rejected);
    }
    for (const node of page.nodes) {
      totals.activeNodes += 1;
      const decision = planNode(node, header.head, input.interval, plannedAt, rules);
      if (decision.kind === 'skip') {
        skipped[decision.reason] += 1;
        continue;
      }
      if (decision.purpose === 'observe') totals.observations += 1;
      else totals.nodesPlanned += 1;
      if (decision.purpose === 'resend') totals.resends += 1;
      totals.microbatches += decision.microbatches.length;
      totals.updatesPlanned += decision.updates;
      pipeline.add(decision);
    }
    await pipeline.sendFullChunks();
  }
  const { claimsLost, unsentNodes } = await pipeline.finish();
  await deps.convergence.addPlanTotals(rules.stream, input.interval, { nodesPlanned: totals.nodesPlanned, microbatches: totals.microbatches });

  return { interval: input.interval, head: header.head, headerWritten, ...totals, skipped, claimsLost, unsentNodes };
}

/**
 * Tokens leave in chunks; each plan is claimed as soon as all its tokens are accepted, with the
 * claims of earlier chunks still running while later chunks are sent. Claims queue up to a bound,
 * then sending waits for them: memory stays bounded whatever the fleet's size.
 */
class SendThenClaim {
  private readonly chunkSize: number;
  private readonly concurrency: number;
  private readonly claimLimit: ReturnType<typeof pLimit>;
  private readonly inFlight = new Set<Promise<void>>();
  private claimsLost = 0;
  private claimFailure: { readonly error: unknown } | undefined;
  /** Tokens not yet handed to the queue, in plan order. */
  private buffer: Microbatch[] = [];
  /** Plans whose tokens are (partly) in the buffer, with how many of their tokens are still in it. */
  private waiting: { readonly plan: NodePlan; pending: number }[] = [];
  private readonly unsentNodes = new Set<string>();

  constructor(
    private readonly deps: PlanIntervalDeps,
    private readonly interval: number,
    private readonly plannedAt: string,
  ) {
    const chunk = deps.sendChunk ?? 3_200;
    this.chunkSize = Math.max(SEND_CALL_ENTRIES, chunk - (chunk % SEND_CALL_ENTRIES));
    this.concurrency = deps.claimConcurrency ?? 128;
    this.claimLimit = pLimit(this.concurrency);
  }

  add(plan: NodePlan): void {
    this.waiting.push({ plan, pending: plan.microbatches.length });
    for (const microbatch of plan.microbatches) this.buffer.push(microbatch);
  }

  async sendFullChunks(): Promise<void> {
    while (this.buffer.length >= this.chunkSize) await this.send(this.chunkSize);
    // Plans with no tokens at the front (observations) need no send.
    this.claimReady();
  }

  /** Sends what is left, waits for every claim. @throws the first claim that failed (not one that lost its condition). */
  async finish(): Promise<{ claimsLost: number; unsentNodes: number }> {
    await this.sendFullChunks();
    if (this.buffer.length > 0) await this.send(this.buffer.length);
    this.claimReady();
    await Promise.all(this.inFlight);
    if (this.claimFailure !== undefined) throw this.claimFailure.error;
    return { claimsLost: this.claimsLost, unsentNodes: this.unsentNodes.size };
  }

  private async send(count: number): Promise<void> {
    // Claims run while the next chunk is sent; past a bound, sending waits for them.
    while (this.claimLimit.pendingCount > 8 * this.concurrency) await Promise.race(this.inFlight);
    const chunk = this.buffer.slice(0, count);
    this.buffer = this.buffer.slice(count);
    const unsent = await this.deps.queue.send(chunk);
    if (unsent.length > 0) {
      for (const { microbatch } of unsent) this.unsentNodes.add(microbatch.nodeId);
      this.deps.onUnsent?.(unsent);
    }
    let sent = count;
    for (const entry of this.waiting) {
      if (sent === 0) break;
      const taken = Math.min(entry.pending, sent);
      entry.pending -= taken;
      sent -= taken;
    }
    this.claimReady();
  }

  /** Claims, in order, every plan at the front whose tokens have all been handed to the queue. */
  private claimReady(): void {
    let ready = 0;
    while (ready < this.waiting.length && this.waiting[ready]?.pending === 0) ready += 1;
    for (const { plan } of this.waiting.slice(0, ready)) {
      // A node some of whose tokens SQS refused stays unclaimed: the next run or interval plans it again.
      if (!this.unsentNodes.has(plan.nodeId)) this.claim(plan);
    }
    this.waiting = this.waiting.slice(ready);
  }

  private claim(plan: NodePlan): void {
    const claim = { ...plan.claim, plannedAt: this.plannedAt, plannedInterval: this.interval };
    const task: Promise<void> = this.claimLimit(() => this.deps.nodes.claimPlan(plan.nodeId, plan.expectedPlannedSeq, claim))
      .then(
        (won) => {
          if (!won) this.claimsLost += 1;
        },
        (error: unknown) => {
          this.claimFailure ??= { error };
        },
      )
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }
}
