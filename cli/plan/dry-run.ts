/**
 * `microbatch plan --dry-run`: what the planner would send at the next tick, per node — the
 * domain's own `planNode` against the real reads of the log head, the Nodes table and the segments'
 * plan records — without writing a plan header, sending a token or recording a plan.
 */
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoClockStore } from '#shared/adapters/dynamodb/clock-store.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { loadSettings } from '#shared/config.ts';
import type { SyncSettings } from '#shared/domain/config.ts';
import { intervalStartTime } from '#shared/domain/interval-clock.ts';
import type { RejectedNode } from '#shared/domain/node.ts';
import { planNode, type PlanPurpose, type SkipReason } from '#shared/domain/plan.ts';
import { withPlanHistory } from '#shared/domain/segment-plan.ts';
import { readTickInterval } from '#shared/usecases/tick-interval.ts';
import { UsageError } from '#local/errors.ts';
import type { Deployment } from '../deployment.ts';
import { deploymentPlans } from '../plans.ts';

/**
 * Why a node gets nothing at the next tick: the planner's reasons, and `paused` — a paused node is
 * not planned at all (its shard carries its plan forward unchanged).
 */
export type DryRunSkip = SkipReason | 'paused';

/** One node's part of the next interval. */
export interface NodePlanRow {
  readonly nodeId: string;
  readonly rate: number;
  readonly appliedSeq: number;
  readonly plannedSeq: number;
  /** What the planner would do: send tokens for a purpose, or skip for a reason. */
  readonly decision: PlanPurpose | DryRunSkip;
  /** The node gets nothing this tick: `decision` says why. */
  readonly skipped: boolean;
  /** q_i: new updates planned. */
  readonly updates: number;
  /** b_i: tokens sent (new work plus any outstanding work they carry). */
  readonly microbatches: number;
  /** The plan's target seq (absent for a skip). */
  readonly target?: number;
  /** The tokens re-send outstanding work whose cursor stood still for staleAfterIntervals. */
  readonly resend: boolean;
}

export interface DryRun {
  readonly stream: string;
  /** k of the next tick, and when it fires. */
  readonly interval: number;
  readonly scheduledTime: string;
  /** The head the plan is made against: the current head (the tick's header will hold the head then). */
  readonly head: number;
  readonly settings: Pick<SyncSettings, 'intervalSeconds' | 'batchSize' | 'maxInFlightIntervals' | 'staleAfterIntervals'>;
  readonly nodes: readonly NodePlanRow[];
  readonly totals: {
    readonly nodesPlanned: number;
    readonly nodesSkipped: number;
    /** The skipped nodes by reason; only the reasons that occur. */
    readonly skipped: Readonly<Partial<Record<DryRunSkip, number>>>;
    readonly microbatches: number;
    readonly updatesPlanned: number;
    readonly resends: number;
  };
  readonly rejected: readonly RejectedNode[];
}

/** The settings the functions run with: the state file's for a local run, the planner's environment for a stack. */
export async function deploymentSettings(deployment: Deployment, lambda?: LambdaClient): Promise<Readonly<SyncSettings>> {
  const { source } = deployment;
  if (source.kind === 'local') return source.state.settings;
  const functionName = deployment.resources.functions?.planner;
  if (functionName === undefined) throw new UsageError(`stack ${source.stackName} names no planner function`);
  const client = lambda ?? new LambdaClient(source.region === undefined ? {} : { region: source.region });
  const { Environment } = await client.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  return loadSettings(Environment?.Variables ?? {});
}

export async function dryRunPlan(deployment: Deployment, settings: Readonly<SyncSettings>, now: Date = new Date()): Promise<DryRun> {
  // The next tick, numbered by the stream's interval clock as the coordinators will number it.
  const convergence = new DynamoConvergenceStore(deployment.clients.document, deployment.resources.convergenceTable);
  const clock = new DynamoClockStore(deployment.clients.document, deployment.resources.convergenceTable);
  const current = await readTickInterval(now, { stream: settings.stream, intervalSeconds: settings.intervalSeconds, clock, convergence });
  const interval = current.interval + 1;
  const scheduledTime = intervalStartTime(current.clock, interval).toISOString();
  const { head } = await new DynamoLogStore(deployment.clients.document, deployment.resources.logTable).readHead(settings.stream);
  const nodes = new DynamoNodeRepository(deployment.clients.document, deployment.resources.nodesTable);
  const plans = await deploymentPlans(deployment, interval - 1);
  const rows: NodePlanRow[] = [];
  const rejected: RejectedNode[] = [];
  const skipped: Partial<Record<DryRunSkip, number>> = {};
  // Every node, paused ones too: an operator who paused a node should see it left out, and why.
  for await (const page of nodes.scanAll()) {
    rejected.push(...page.rejected);
    for (const item of page.nodes) {
      // The node as its shard will see it: its item with its segment's newest plan record.
      const node = withPlanHistory(item, plans.get(item.nodeId));
      const base = { nodeId: node.nodeId, rate: node.rate, appliedSeq: node.appliedSeq, plannedSeq: node.plannedSeq };
      const skip = (reason: DryRunSkip): NodePlanRow => {
        skipped[reason] = (skipped[reason] ?? 0) + 1;
        return { ...base, decision: reason, skipped: true, updates: 0, microbatches: 0, resend: false };
      };
      if (node.status === 'paused') {
        rows.push(skip('paused'));
        continue;
      }
      const decision = planNode(node, head, interval, scheduledTime, settings);
      rows.push(
        decision.kind === 'skip'
          ? skip(decision.reason)
          : {
              ...base,
              decision: decision.purpose,
              skipped: false,
              updates: decision.updates,
              microbatches: decision.microbatches.length,
              target: decision.target,
              resend: decision.purpose === 'resend',
            },
      );
    }
  }
  rows.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  const sending = rows.filter((row) => row.decision === 'new-work' || row.decision === 'resend');
  return {
    stream: settings.stream,
    interval,
    scheduledTime,
    head,
    settings: {
      intervalSeconds: settings.intervalSeconds,
      batchSize: settings.batchSize,
      maxInFlightIntervals: settings.maxInFlightIntervals,
      staleAfterIntervals: settings.staleAfterIntervals,
    },
    nodes: rows,
    totals: {
      nodesPlanned: sending.length,
      nodesSkipped: rows.filter((row) => row.skipped).length,
      skipped,
      microbatches: rows.reduce((sum, row) => sum + row.microbatches, 0),
      updatesPlanned: rows.reduce((sum, row) => sum + row.updates, 0),
      resends: rows.filter((row) => row.resend).length,
    },
    rejected,
  };
}
