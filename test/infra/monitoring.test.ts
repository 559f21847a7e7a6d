/**
 * The alarms, their topic and the dashboard of the stack with cdk.json's defaults. One synth
 * serves the whole file.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { describe, expect, it } from 'vitest';
import { METRIC } from '#shared/metrics.ts';
import { FUNCTION_NAMES } from '#infra/definitions.ts';
import { defaultStack, logicalId, metricsTheHandlerEmits, resourcesOfType } from './support.ts';

const built = defaultStack();
const { fn, properties } = built;

/** The dashboard's body, its tokens (ARNs, queue names) replaced by a placeholder. */
function dashboardBody(): { widgets: { properties: { title: string; metrics?: unknown[][] } }[] } {
  const [dashboard] = Object.values(resourcesOfType(built.json, 'AWS::CloudWatch::Dashboard'));
  const parts = (dashboard?.Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('')) as ReturnType<typeof dashboardBody>;
}

describe('monitoring', () => {
  const topicRef = (): { Ref: string } => ({ Ref: logicalId(built.synthesized.stack.monitoring.topic) });

  it('alarms when a microbatch or a shard task is dead-lettered or a tick is lost (the failed-ticks queue is not empty)', () => {
    for (const queueId of ['MicrobatchDeadLetterQueue', 'SchedulerDeadLetterQueue', 'PlanTaskDeadLetterQueue', 'CheckTaskDeadLetterQueue']) {
      built.synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
        AlarmActions: [topicRef()],
      });
    }
  });

  it("alarms when the checker's Converged metric stays below 1 for notConvergedIntervals intervals", () => {
    built.synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'MicrobatchSync',
      MetricName: METRIC.Converged,
      // Powertools adds the service dimension to the stream dimension the functions set.
      Dimensions: [{ Name: 'service', Value: 'microbatch-sync' }, { Name: 'stream', Value: 'main' }],
      Period: 60,
      Statistic: 'Maximum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      AlarmActions: [topicRef()],
    });
  });

  it("alarms when the applier fails a microbatch whose entries do not continue the node's chain", () => {
    const alarm = properties(logicalId(built.synthesized.stack.monitoring.alarms.microbatchIntegrityFailures));
    expect(alarm).toMatchObject({
      Namespace: 'MicrobatchSync',
      MetricName: METRIC.MicrobatchIntegrityFailures,
      Dimensions: [{ Name: 'service', Value: 'microbatch-sync' }, { Name: 'stream', Value: 'main' }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    expect(alarm.AlarmDescription).toMatch(/^The applier failed a microbatch/);
  });

  it("alarms, apart, when the checker finds nodes whose chain differs from the log's", () => {
    const alarm = properties(logicalId(built.synthesized.stack.monitoring.alarms.integrityFailedNodes));
    expect(alarm).toMatchObject({
      Namespace: 'MicrobatchSync',
      MetricName: METRIC.IntegrityFailedNodes,
      Dimensions: [{ Name: 'service', Value: 'microbatch-sync' }, { Name: 'stream', Value: 'main' }],
      // A count of nodes per tick: the largest, not a sum over retried runs.
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    expect(alarm.AlarmDescription).toMatch(/^The checker found nodes/);
  });

  it('alarms when a planner shard skips a Nodes item that is not a valid node', () => {
    const alarm = properties(logicalId(built.synthesized.stack.monitoring.alarms.rejectedNodes));
    expect(alarm).toMatchObject({
      Namespace: 'MicrobatchSync',
      MetricName: METRIC.RejectedNodes,
      Dimensions: [{ Name: 'service', Value: 'microbatch-sync' }, { Name: 'stream', Value: 'main' }],
      // Each planner shard counts the items of its own segments: the fleet's count is their sum.
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    expect(alarm.AlarmDescription).toMatch(/npx microbatch --stack STACK nodes list/);
  });

  it('alarms when an interval leaves the open window without converging', () => {
    const alarm = properties(logicalId(built.synthesized.stack.monitoring.alarms.intervalsExpired));
    expect(alarm).toMatchObject({
      Namespace: 'MicrobatchSync',
      MetricName: METRIC.IntervalsExpired,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
  });

  it.each(FUNCTION_NAMES)('alarms on errors of the %s function', (name) => {
    built.synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn(name).function) } }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      AlarmActions: [topicRef()],
    });
  });

  it.each(['planner', 'checker'] as const)("alarms when Lambda cannot deliver a failed %s run's record to the failed-ticks queue", (name) => {
    const alarm = properties(logicalId(built.synthesized.stack.monitoring.alarms.destinationDeliveryFailures[name]));
    expect(alarm).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'DestinationDeliveryFailures',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn(name).function) } }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    expect(alarm.AlarmDescription).toMatch(new RegExp(`^Lambda could not send the record of a failed ${name} run`));
  });

  it('watches destination deliveries of the scheduled functions only: nothing invokes the others asynchronously', () => {
    const watched = Object.values(resourcesOfType(built.json, 'AWS::CloudWatch::Alarm'))
      .filter((alarm) => alarm.Properties?.MetricName === 'DestinationDeliveryFailures')
      .map((alarm) => (alarm.Properties?.Dimensions as { Value: unknown }[])[0]?.Value);
    expect(watched).toEqual([{ Ref: logicalId(fn('planner').function) }, { Ref: logicalId(fn('checker').function) }]);
  });

  it('sends every alarm and its recovery to the topic, which requires TLS and has no subscriber by default', () => {
    const alarms = Object.values(resourcesOfType(built.json, 'AWS::CloudWatch::Alarm'));
    // 11 on the system's own signals, 6 on function errors (one per function), 2 on the scheduled functions' destinations.
    expect(alarms).toHaveLength(19);
    for (const alarm of alarms) expect(alarm.Properties).toMatchObject({ AlarmActions: [topicRef()], OKActions: [topicRef()] });
    built.synthesized.template.resourceCountIs('AWS::SNS::Subscription', 0);
    built.synthesized.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('encrypts the alarm topic with a rotating customer managed key that CloudWatch may use', () => {
    const [keyId] = Object.keys(resourcesOfType(built.json, 'AWS::KMS::Key'));
    expect(keyId).toBeDefined();
    built.synthesized.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    built.synthesized.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('names every alarm after what it watches', () => {
    const alarms = built.synthesized.stack.monitoring.node.children.filter((child) => child instanceof Alarm);
    expect(alarms.map((alarm) => alarm.node.id)).toEqual([
      'MicrobatchDeadLetters',
      'FailedTicks',
      'NotConverged',
      'MicrobatchIntegrityFailures',
      'IntegrityFailedNodes',
      'RejectedNodes',
      'IntervalsExpired',
      'IncompletePlans',
      'UnmergedChecks',
      'PlanTaskDeadLetters',
      'CheckTaskDeadLetters',
      'PlannerErrors',
      'PlannerShardErrors',
      'ApplierErrors',
      'CheckerErrors',
      'CheckerShardErrors',
      'IngestErrors',
      'PlannerDestinationDeliveryFailures',
      'CheckerDestinationDeliveryFailures',
    ]);
  });

  it.each([
    ['incompletePlans', METRIC.IncompletePlans, /^An interval's plan was never whole/],
    ['unmergedChecks', METRIC.UnmergedChecks, /^A check tick's shards never all reported/],
  ] as const)('alarms on any %s the checker counts in an interval', (name, metricName, description) => {
    const alarm = properties(logicalId(built.synthesized.stack.monitoring.alarms[name]));
    expect(alarm).toMatchObject({
      Namespace: 'MicrobatchSync',
      MetricName: metricName,
      Dimensions: [{ Name: 'service', Value: 'microbatch-sync' }, { Name: 'stream', Value: 'main' }],
      // One interval per period: the checker counts each interval once per tick.
      Period: 60,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
      OKActions: [topicRef()],
    });
    expect(alarm.AlarmDescription).toMatch(description);
  });

  it.each([
    ['planTaskDeadLetters', 'PlanTaskDeadLetterQueue', /^A planner shard task failed every receive/],
    ['checkTaskDeadLetters', 'CheckTaskDeadLetterQueue', /^A checker shard task failed every receive/],
  ] as const)('alarms (%s) as soon as a shard task reaches %s', (name, queueId, description) => {
    const alarm = properties(logicalId(built.synthesized.stack.monitoring.alarms[name]));
    expect(alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Period: 60,
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    expect(alarm.AlarmDescription).toMatch(description);
  });

  it('graphs the depth of every dead-letter queue an alarm watches', () => {
    const widget = dashboardBody().widgets.find((candidate) => candidate.properties.title === 'Dead-letter queue depth');
    const labels = (widget?.properties.metrics ?? []).map((metric) => (metric.at(-1) as { label?: string }).label);
    expect(labels).toEqual(['Microbatch DLQ', 'Failed ticks', 'Plan task DLQ', 'Check task DLQ']);
    const depthAlarms = Object.values(resourcesOfType(built.json, 'AWS::CloudWatch::Alarm')).filter((alarm) => alarm.Properties?.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(depthAlarms).toHaveLength(labels.length);
  });

  it("graphs the shards per interval (and the ticks too late to plan) and the planner shards' plan records", () => {
    const widgets = Object.fromEntries(dashboardBody().widgets.map((widget) => [widget.properties.title, widget.properties.metrics ?? []]));
    const named = (title: string): unknown[] => (widgets[title] ?? []).map((metric) => metric[1]);
    expect(named('Shards per interval')).toEqual([METRIC.PlanShards, METRIC.ShardTasksExpired, METRIC.IncompletePlans, METRIC.UnmergedChecks, METRIC.StaleTicks]);
    expect(named('Plan records')).toEqual([METRIC.NodesWithoutPlanHistory, METRIC.SpilledNodes, 'ApproximateAgeOfOldestMessage', 'ApproximateAgeOfOldestMessage']);
  });

  it('describes the failed-ticks alarm as a lost tick', () => {
    const alarm = properties(logicalId(built.synthesized.stack.monitoring.alarms.failedTicks));
    expect(alarm).toMatchObject({ Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'QueueName'] } }] });
    expect(alarm.AlarmDescription).toMatch(/^A planner or checker tick was lost/);
  });

  it("shows every alarm of the stack, and nothing else, in the dashboard's alarm widget", () => {
    const [dashboard] = Object.values(resourcesOfType(built.json, 'AWS::CloudWatch::Dashboard'));
    const parts = (dashboard?.Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const shown = parts.flatMap((part) => {
      const [id, attribute] = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'] ?? [];
      return attribute === 'Arn' && id !== undefined ? [id] : [];
    });
    expect(shown.sort()).toEqual(Object.keys(resourcesOfType(built.json, 'AWS::CloudWatch::Alarm')).sort());
    expect(shown).toContain(logicalId(built.synthesized.stack.monitoring.alarms.failedTicks));
  });

  it('builds a dashboard of convergence lag, lagging nodes, updates applied, DLQ depth, shards, plan records and the alarms', () => {
    const body = dashboardBody();
    expect(body.widgets.map((widget) => widget.properties.title)).toEqual([
      'Convergence lag (seconds)',
      'Lagging nodes',
      'Updates per interval',
      'Dead-letter queue depth',
      'Shards per interval',
      'Plan records',
      'Alarms',
    ]);
    const metricNames = body.widgets.flatMap((widget) => (widget.properties.metrics ?? []).map((metric) => metric[1]));
    expect(metricNames).toEqual(expect.arrayContaining([METRIC.ConvergenceLagSeconds, METRIC.LaggingNodes, METRIC.UpdatesApplied, 'ApproximateNumberOfMessagesVisible']));
  });

  it('reads only metrics a handler emits, and every metric of the list has a handler that emits it', () => {
    const emitted = new Set(FUNCTION_NAMES.flatMap(metricsTheHandlerEmits));
    expect([...emitted].sort()).toEqual(Object.values(METRIC).sort());
    const alarmed = Object.values(resourcesOfType(built.json, 'AWS::CloudWatch::Alarm'))
      .filter((alarm) => alarm.Properties?.Namespace === 'MicrobatchSync')
      .map((alarm) => alarm.Properties?.MetricName);
    // A dashboard metric is [namespace, name, ...dimensions] (or ['.', …] for "same as above").
    const graphed = dashboardBody().widgets.flatMap((widget) => (widget.properties.metrics ?? []).filter((metric) => metric[0] === 'MicrobatchSync').map((metric) => metric[1]));
    expect(alarmed.length).toBeGreaterThan(0);
    expect(graphed.length).toBeGreaterThan(0);
    for (const name of [...alarmed, ...graphed]) expect(emitted).toContain(name);
  });
});

