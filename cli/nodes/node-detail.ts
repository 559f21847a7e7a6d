/**
 * `microbatch nodes get ID`: one node as `nodes list` shows it — cursor, plan (its segment's record,
 * else its item), lag behind the head — with its share of an interval and how long it needs to
 * catch up, by the advisor's model (`advise/model.ts`): `ceil(lag / (share − ingest·t))` intervals,
 * never while ingest continues when the share does not exceed the ingest per interval.
 */
import { sharePerInterval } from '#shared/domain/formula.ts';
import type { LogReader } from '#shared/domain/ports.ts';
import type { PlanHistory } from '#shared/domain/segment-plan.ts';
import { UsageError } from '#local/errors.ts';
import { catchUpIntervals, ingestPerInterval } from '../advise/model.ts';
import { checkNodeId, nodeRow, type NodeAdminRepository, type NodeRow } from './node-admin.ts';

/** How long the node needs to reach the head, at the deployment's t. */
export interface CatchUpEstimate {
  /** The ingest assumed to go on meanwhile (`--ingest-rate`), per second and per interval; null: none. */
  readonly ingestRate: number | null;
  readonly ingestPerInterval: number | null;
  /** Intervals until it holds the head; 0 at the head; null: never while that ingest continues. */
  readonly intervals: number | null;
  /** intervals × t. */
  readonly seconds: number | null;
}

export interface NodeDetail extends NodeRow {
  readonly stream: string;
  readonly head: number;
  /** The deployment's t. */
  readonly intervalSeconds: number;
  /** ceil(r·t): the most it takes in one interval. */
  readonly sharePerInterval: number;
  readonly catchUp: CatchUpEstimate;
}

export interface NodeDetailDeps {
  readonly nodes: Pick<NodeAdminRepository, 'get'>;
  readonly log: Pick<LogReader, 'readHead'>;
  readonly stream: string;
  /** Every node's newest plan record entry (`deploymentPlans`), as `nodes list` reads them; read once the node is found. */
  readonly plans: () => Promise<ReadonlyMap<string, PlanHistory>>;
  readonly intervalSeconds: number;
  /** Updates per second assumed to keep arriving; absent: none. */
  readonly ingestRate?: number;
}

/** The node `nodeId` in detail; a UsageError (exit 2) when there is none. */
export async function getNode(nodeId: string, deps: NodeDetailDeps): Promise<NodeDetail> {
  checkNodeId(nodeId);
  const node = await deps.nodes.get(nodeId);
  if (node === undefined) throw new UsageError(`no node ${nodeId}: \`nodes list\` shows the registered nodes`);
  const { head } = await deps.log.readHead(deps.stream);
  const row = nodeRow(node, head, (await deps.plans()).get(nodeId));
  const t = deps.intervalSeconds;
  const share = sharePerInterval(node.rate, t);
  const ingest = deps.ingestRate === undefined ? null : ingestPerInterval(deps.ingestRate, t);
  const intervals = catchUpIntervals(row.lag, share, ingest ?? 0);
  return {
    stream: deps.stream,
    head,
    ...row,
    intervalSeconds: t,
    sharePerInterval: share,
    catchUp: { ingestRate: deps.ingestRate ?? null, ingestPerInterval: ingest, intervals, seconds: intervals === null ? null : intervals * t },
  };
}
