/**
 * Alarms and a dashboard over the system's own signals (DESIGN §7): dead-letter queues, the
 * checker's convergence metrics, integrity failures, the shards' incomplete plans and unmerged
 * checks, function errors and lost on-failure records.
 * Alarm actions go to an SNS topic that always exists (free at rest) and that an e-mail address is
 * subscribed to when configured. A new alarm is one `this.alarm(…)` call: the dashboard's alarm
 * widget shows every alarm made through it.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Metric,
  TreatMissingData,
  type AlarmProps,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, type MetricName } from '#shared/metrics.ts';
import { FUNCTION_NAMES, FUNCTIONS, type FunctionName, type ScheduledFunctionName } from '../definitions.ts';
import type { TaskQueue } from './task-queues.ts';

export interface MonitoringProps {
  readonly functions: Readonly<Record<FunctionName, IFunction>>;
  readonly microbatchDeadLetterQueue: IQueue;
  /** The planner's and the checker's shard task queues and their dead-letter queues. */
  readonly taskQueues: { readonly plan: TaskQueue; readonly check: TaskQueue };
  /** Lost planner/checker ticks: Scheduler's dead letters and Lambda's on-failure records. */
  readonly failedTicksQueue: IQueue;
  /** Where the functions' EMF metrics land: POWERTOOLS_METRICS_NAMESPACE. */
  readonly metricsNamespace: string;
  /** Powertools adds `service` (POWERTOOLS_SERVICE_NAME) to every metric's dimensions, beside `stream`. */
  readonly serviceName: string;
  readonly stream: string;
  readonly intervalSeconds: number;
  readonly notConvergedIntervals: number;
  readonly functionErrorsThreshold: number;
  readonly alarmEmail: string | undefined;
}

/** How often function errors and delivery failures are summed for their alarms. */
const ERROR_PERIOD = Duration.minutes(5);

/** Alarm on any datapoint above zero; no data (nothing happened) is not a breach. */
const ANY_AT_ALL = {
  threshold: 0,
  comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
  evaluationPeriods: 1,
  treatMissingData: TreatMissingData.NOT_BREACHING,
} as const;

/** The stack's alarms, their topic and the dashboard. */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: {
    readonly microbatchDeadLetters: Alarm;
    readonly failedTicks: Alarm;
    readonly notConverged: Alarm;
    readonly microbatchIntegrityFailures: Alarm;
    readonly integrityFailedNodes: Alarm;
    readonly rejectedNodes: Alarm;
    readonly intervalsExpired: Alarm;
    readonly incompletePlans: Alarm;
    readonly unmergedChecks: Alarm;
    readonly planTaskDeadLetters: Alarm;
    readonly checkTaskDeadLetters: Alarm;
    readonly functionErrors: Readonly<Record<FunctionName, Alarm>>;
    /** Lambda could not deliver a scheduled function's on-failure record to the failed-ticks queue. */
    readonly destinationDeliveryFailures: Readonly<Record<ScheduledFunctionName, Alarm>>;
  };
  /** Every alarm {@link alarm} made, in order: the dashboard's alarm widget shows them all. */
  private readonly made: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    // Encrypted at rest with a customer managed key: the AWS managed aws/sns key cannot be granted to
    // CloudWatch, which must encrypt the alarm notifications it publishes ($1 a month).
    const topicKey = new Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the Microbatch Sync alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    topicKey.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'Microbatch Sync alarms', enforceSSL: true, masterKey: topicKey });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const interval = Duration.seconds(props.intervalSeconds);
    // Alarms take the plain metrics; the dashboard adds labels (a labelled metric renders as metric math).
    const metric = (metricName: MetricName, statistic: string): Metric =>
      new Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service: props.serviceName, stream: props.stream },
        statistic,
        period: interval,
      });
    const depth = (queue: IQueue): Metric => queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) });

    const microbatchDepth = depth(props.microbatchDeadLetterQueue);
    const failedTicksDepth = depth(props.failedTicksQueue);
    const planTaskDepth = depth(props.taskQueues.plan.deadLetterQueue);
    const checkTaskDepth = depth(props.taskQueues.check.deadLetterQueue);
    const converged = metric(METRIC.Converged, 'Maximum');

    this.alarms = {
      microbatchDeadLetters: this.alarm('MicrobatchDeadLetters', microbatchDepth, {
        ...ANY_AT_ALL,
        alarmDescription: 'Microbatches reached the dead-letter queue: a node is being held back until the planner re-plans it. Inspect and purge the DLQ.',
      }),
      // One alarm for both ways a tick is lost. The function-error alarms fire on every failed
      // attempt; this one only once the retries are spent and the tick is gone.
      failedTicks: this.alarm('FailedTicks', failedTicksDepth, {
        ...ANY_AT_ALL,
        alarmDescription:
          'A planner or checker tick was lost: Scheduler could not deliver it, or the function failed it after Lambda\'s retries. Later ticks plan and check as usual; read the failed-ticks queue to learn why, then purge it.',
      }),
      // A period with a converged check clears the streak: Maximum over each interval.
      notConverged: this.alarm('NotConverged', converged, {
        alarmDescription: `The checker has reported "not converged" for ${props.notConvergedIntervals} intervals in a row.`,
        threshold: 1,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: props.notConvergedIntervals,
        datapointsToAlarm: props.notConvergedIntervals,
        treatMissingData: TreatMissingData.MISSING,
      }),
      // Two meanings, two alarms: the applier counts failed deliveries, the checker counts nodes.
      microbatchIntegrityFailures: this.alarm('MicrobatchIntegrityFailures', metric(METRIC.MicrobatchIntegrityFailures, 'Sum'), {
        ...ANY_AT_ALL,
        alarmDescription:
          "The applier failed a microbatch whose log entries do not continue the node's hash chain: the log or the node's cursor was changed outside the system. The node cannot advance; the microbatch is retried, then dead-lettered.",
      }),
      // A count of nodes per tick, like RejectedNodes: the largest, not the sum of a retried tick's runs.
      integrityFailedNodes: this.alarm('IntegrityFailedNodes', metric(METRIC.IntegrityFailedNodes, 'Maximum'), {
        ...ANY_AT_ALL,
        alarmDescription: "The checker found nodes whose hash chain differs from the log's at their cursor: their data differs from the source. The checker's log names them.",
      }),
      // Each planner shard counts the bad items of its own segments.
      rejectedNodes: this.alarm('RejectedNodes', metric(METRIC.RejectedNodes, 'Sum'), {
        ...ANY_AT_ALL,
        alarmDescription:
          'A Nodes item is not a valid node (a rate written as a string, 0 or negative, an unknown status, an id with a space): the planner and checker skip it and go on with every other node. Fix the item; `npx microbatch --stack STACK nodes list` and the error log name it.',
      }),
      intervalsExpired: this.alarm('IntervalsExpired', metric(METRIC.IntervalsExpired, 'Sum'), {
        ...ANY_AT_ALL,
        alarmDescription: 'An interval left the window of openIntervals without ever being judged converged: it is closed as expired.',
      }),
      incompletePlans: this.alarm('IncompletePlans', metric(METRIC.IncompletePlans, 'Sum'), {
        ...ANY_AT_ALL,
        alarmDescription:
          "An interval's plan was never whole — a planner shard's task came after the next tick, or never reported — so it was closed unjudged. The next intervals plan those nodes again; the planner shard's errors, duration and the plan task queue say why.",
      }),
      unmergedChecks: this.alarm('UnmergedChecks', metric(METRIC.UnmergedChecks, 'Sum'), {
        ...ANY_AT_ALL,
        alarmDescription: "A check tick's shards never all reported, so its verdicts were not written; later ticks judge the same intervals. The checker shard's errors and the check task queue say why.",
      }),
      planTaskDeadLetters: this.alarm('PlanTaskDeadLetters', planTaskDepth, {
        ...ANY_AT_ALL,
        alarmDescription: 'A planner shard task failed every receive (a malformed body, a permission): read the plan task dead-letter queue, then purge it.',
      }),
      checkTaskDeadLetters: this.alarm('CheckTaskDeadLetters', checkTaskDepth, {
        ...ANY_AT_ALL,
        alarmDescription: 'A checker shard task failed every receive (a malformed body, a permission): read the check task dead-letter queue, then purge it.',
      }),
      functionErrors: perFunction(FUNCTION_NAMES, (name) =>
        this.alarm(`${FUNCTIONS[name].constructId}Errors`, props.functions[name].metricErrors({ period: ERROR_PERIOD, statistic: 'Sum' }), {
          alarmDescription: `The ${name} function reported at least ${props.functionErrorsThreshold} error(s) in 5 minutes.`,
          threshold: props.functionErrorsThreshold,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      ),
      // Without a record in the failed-ticks queue, the FailedTicks alarm cannot see the lost tick.
      destinationDeliveryFailures: perFunction(FUNCTION_NAMES.filter(isScheduled), (name) =>
        this.alarm(
          `${FUNCTIONS[name].constructId}DestinationDeliveryFailures`,
          props.functions[name].metric('DestinationDeliveryFailures', { period: ERROR_PERIOD, statistic: 'Sum' }),
          {
            ...ANY_AT_ALL,
            alarmDescription: `Lambda could not send the record of a failed ${name} run to the failed-ticks queue (a permission, a size limit, a missing queue): the tick was lost and left no record. The function's logs say why it failed.`,
          },
        ),
      ),
    };

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Convergence lag (seconds)', left: [metric(METRIC.ConvergenceLagSeconds, 'Maximum').with({ label: 'Max staleness' })], width: 12 }),
      new GraphWidget({
        title: 'Lagging nodes',
        left: [metric(METRIC.LaggingNodes, 'Maximum').with({ label: 'Lagging nodes' })],
        right: [converged.with({ label: 'Converged (1 = yes)' })],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Updates per interval',
        left: [
          metric(METRIC.UpdatesApplied, 'Sum').with({ label: 'Applied' }),
          metric(METRIC.UpdatesIngested, 'Sum').with({ label: 'Ingested' }),
          metric(METRIC.UpdatesReplayed, 'Sum').with({ label: 'Replayed (retries, not appended)' }),
          metric(METRIC.UpdatesPlanned, 'Sum').with({ label: 'Planned' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Dead-letter queue depth',
        // Every queue an alarm watches for depth: the graph shows when each one started to fill.
        left: [
          microbatchDepth.with({ label: 'Microbatch DLQ' }),
          failedTicksDepth.with({ label: 'Failed ticks' }),
          planTaskDepth.with({ label: 'Plan task DLQ' }),
          checkTaskDepth.with({ label: 'Check task DLQ' }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Shards per interval',
        left: [metric(METRIC.PlanShards, 'Maximum').with({ label: 'Planner shards' })],
        right: [
          metric(METRIC.ShardTasksExpired, 'Sum').with({ label: 'Shard tasks expired' }),
          metric(METRIC.IncompletePlans, 'Sum').with({ label: 'Incomplete plans' }),
          metric(METRIC.UnmergedChecks, 'Sum').with({ label: 'Unmerged checks' }),
          metric(METRIC.StaleTicks, 'Sum').with({ label: 'Stale ticks (not planned)' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Plan records',
        left: [
          metric(METRIC.NodesWithoutPlanHistory, 'Sum').with({ label: 'Nodes planned without history' }),
          metric(METRIC.SpilledNodes, 'Sum').with({ label: 'Nodes spilled to claims' }),
        ],
        right: [
          props.taskQueues.plan.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }).with({ label: 'Oldest plan task (s)' }),
          props.taskQueues.check.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }).with({ label: 'Oldest check task (s)' }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: [...this.made], width: 24 }));
  }

  /** A link to the dashboard in the console. */
  get dashboardUrl(): string {
    const region = Stack.of(this).region;
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;
  }

  /** An alarm whose state changes go to the topic, listed for the dashboard's alarm widget. */
  private alarm(id: string, metric: IMetric, props: Omit<AlarmProps, 'metric'>): Alarm {
    const alarm = new Alarm(this, id, { ...props, metric });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.made.push(alarm);
    return alarm;
  }
}

function perFunction<N extends FunctionName>(names: readonly N[], make: (name: N) => Alarm): Readonly<Record<N, Alarm>> {
  return Object.fromEntries(names.map((name) => [name, make(name)])) as Record<N, Alarm>;
}

function isScheduled(name: FunctionName): name is ScheduledFunctionName {
  return FUNCTIONS[name].invokedBy === 'schedule';
}
