/**
 * What `microbatch status` shows: the newest convergence records, the depths of the microbatch
 * queue and its dead-letter queue, and the stack's alarms in ALARM.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import type { ConvergenceRecord } from '#shared/domain/types.ts';
import type { Deployment } from '../deployment.ts';

/** One convergence record as a row. */
export interface ConvergenceRow {
  readonly interval: number;
  readonly plannedAt: string;
  /** H_k. */
  readonly head: number;
  /** Planner shards that planned their segments, of the shards the interval was cut into, and those that gave up as stale. */
  readonly shardsReported: number;
  readonly shards: number;
  readonly shardsExpired: number;
  /** Absent until the checker has judged the interval. */
  readonly consistentNodes?: number;
  readonly activeNodes?: number;
  readonly maxLagUpdates?: number;
  readonly maxStalenessSeconds?: number;
  readonly laggingCount?: number;
  /** The first laggards the verdict names (reportTopN at most). */
  readonly laggards: readonly string[];
  readonly converged: boolean;
  readonly convergedAt?: string;
  readonly expiredAt?: string;
  readonly expiredReason?: ConvergenceRecord['expiredReason'];
}

export interface QueueDepth {
  /** ApproximateNumberOfMessages: waiting to be received. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received, not yet deleted. */
  readonly inFlight: number;
  readonly delayed: number;
}

export interface AlarmState {
  readonly name: string;
  readonly reason: string;
  readonly since?: string;
}

export interface StatusReport {
  readonly stream: string;
  readonly convergence: readonly ConvergenceRow[];
  readonly queue: QueueDepth;
  readonly deadLetterQueue: QueueDepth;
  /** The stack's alarms in ALARM; `null` for a local deployment, which has no alarms. */
  readonly alarmsInAlarm: readonly AlarmState[] | null;
}

export function convergenceRow(record: ConvergenceRecord): ConvergenceRow {
  const { verdict } = record;
  return {
    interval: record.interval,
    plannedAt: record.plannedAt,
    head: record.head,
    shardsReported: record.shardsReported,
    shards: record.shards,
    shardsExpired: record.shardsExpired,
    ...(verdict === undefined
      ? {}
      : {
          consistentNodes: verdict.consistentNodes,
          activeNodes: verdict.activeNodes,
          maxLagUpdates: verdict.maxLagUpdates,
          maxStalenessSeconds: verdict.maxStalenessSeconds,
          laggingCount: verdict.laggingCount,
        }),
    laggards: verdict?.laggingNodes.map((node) => node.nodeId) ?? [],
    converged: record.converged,
    ...(record.convergedAt === undefined ? {} : { convergedAt: record.convergedAt }),
    ...(record.expiredAt === undefined ? {} : { expiredAt: record.expiredAt }),
    ...(record.expiredReason === undefined ? {} : { expiredReason: record.expiredReason }),
  };
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/**
 * The stack's alarms in ALARM. CloudFormation names an alarm without an explicit name
 * `<stack>-<logical id>-<suffix>`, and the stack names none, so the stack's name is the prefix.
 */
export async function alarmsInAlarm(cloudWatch: CloudWatchClient, stackName: string): Promise<AlarmState[]> {
  const alarms: AlarmState[] = [];
  let nextToken: string | undefined;
  do {
    const page = await cloudWatch.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: `${stackName}-`, StateValue: 'ALARM', ...(nextToken === undefined ? {} : { NextToken: nextToken }) }),
    );
    for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
      alarms.push({
        name: alarm.AlarmName ?? '(unnamed)',
        reason: alarm.StateReason ?? '',
        ...(alarm.StateUpdatedTimestamp === undefined ? {} : { since: alarm.StateUpdatedTimestamp.toISOString() }),
      });
    }
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return alarms;
}

export async function readStatus(deployment: Deployment, options: { readonly limit: number; readonly cloudWatch?: CloudWatchClient }): Promise<StatusReport> {
  const store = new DynamoConvergenceStore(deployment.clients.document, deployment.resources.convergenceTable);
  const { source } = deployment;
  const alarms = async (): Promise<AlarmState[] | null> => {
    if (source.kind === 'local') return null;
    const cloudWatch = options.cloudWatch ?? new CloudWatchClient(source.region === undefined ? {} : { region: source.region });
    return alarmsInAlarm(cloudWatch, source.stackName);
  };
  const [records, queue, deadLetterQueue, inAlarm] = await Promise.all([
    store.recent(deployment.stream, Number.MAX_SAFE_INTEGER, options.limit),
    queueDepth(deployment.clients.sqs, deployment.resources.queueUrl),
    queueDepth(deployment.clients.sqs, deployment.resources.deadLetterQueueUrl),
    alarms(),
  ]);
  return { stream: deployment.stream, convergence: records.map(convergenceRow), queue, deadLetterQueue, alarmsInAlarm: inAlarm };
}
