/**
 * What the context switches change in the template: the dev removal policy, an alarm address, a
 * longer interval and applier timeout, and no reserved ingest concurrency.
 */
import { describe, expect, it } from 'vitest';
import { METRIC } from '#shared/metrics.ts';
import { logicalId, resourcesOfType, synth } from './support.ts';

describe("removalPolicy 'destroy' (the dev switch)", () => {
  const { json } = synth({ removalPolicy: 'destroy' });

  it('deletes tables, queues and log groups with the stack, and drops deletion protection', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::Logs::LogGroup']) {
      const resources = Object.values(resourcesOfType(json, type));
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect([resource.DeletionPolicy, resource.UpdateReplacePolicy]).toEqual(['Delete', 'Delete']);
    }
    for (const table of Object.values(resourcesOfType(json, 'AWS::DynamoDB::Table'))) expect(table.Properties?.DeletionProtectionEnabled).toBe(false);
  });

  it('keeps the same logical ids as a retained stack', () => {
    expect(Object.keys(resourcesOfType(json, 'AWS::DynamoDB::Table')).sort()).toEqual(['ConvergenceTable', 'IngestRequestsTable', 'LogTable', 'NodesTable', 'PlansTable', 'ReplicaTable']);
    expect(Object.keys(resourcesOfType(json, 'AWS::SQS::Queue')).sort()).toEqual([
      'CheckTaskDeadLetterQueue',
      'CheckTaskQueue',
      'MicrobatchDeadLetterQueue',
      'MicrobatchQueue',
      'PlanTaskDeadLetterQueue',
      'PlanTaskQueue',
      'SchedulerDeadLetterQueue',
    ]);
  });
});

describe('a five-minute interval with a two-minute applier', () => {
  const { json, template, stack } = synth({ intervalSeconds: '300', applierTimeoutSeconds: '120', applierMaxConcurrency: '40', notConvergedIntervals: 3 });

  it('schedules both functions at rate(5 minutes) and lets an event age one interval', () => {
    for (const schedule of Object.values(resourcesOfType(json, 'AWS::Scheduler::Schedule'))) {
      expect(schedule.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', Target: { RetryPolicy: { MaximumEventAgeInSeconds: 300 } } });
    }
  });

  it('lets Lambda retry a failed planner or checker run twice within the interval, then drops it after five minutes', () => {
    for (const service of [stack.functions.planner, stack.functions.checker]) {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(service.function) },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 300,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] } } },
      });
    }
  });

  it('raises the visibility timeout to six applier timeouts', () => {
    expect(json.Resources.MicrobatchQueue?.Properties?.VisibilityTimeout).toBe(720);
    expect(json.Resources[logicalId(stack.functions.applier.function)]?.Properties?.Timeout).toBe(120);
  });

  it("caps the applier's event source at the configured concurrency", () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { EventSourceArn: { 'Fn::GetAtt': ['MicrobatchQueue', 'Arn'] }, ScalingConfig: { MaximumConcurrency: 40 } });
  });

  it('tells every function the interval and judges convergence per interval', () => {
    for (const service of Object.values(stack.functions)) {
      expect(json.Resources[logicalId(service.function)]?.Properties).toMatchObject({ Environment: { Variables: { INTERVAL_SECONDS: '300' } } });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: METRIC.Converged, Period: 300, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
  });
});

describe('a two-minute interval', () => {
  const { template, stack } = synth({ intervalSeconds: 120 });

  it('lets Lambda retry a failed planner or checker run once: the second retry would come after the interval', () => {
    for (const service of [stack.functions.planner, stack.functions.checker]) {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: logicalId(service.function) }, MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 120 });
    }
  });
});

describe('a fixed cut into shards with a higher shard concurrency', () => {
  const { json, template, stack } = synth({ shardMaxConcurrency: '250', nodesPerShard: '10000', nodesPerSegment: '500', shards: '8' });

  it('caps both shard event sources at shardMaxConcurrency and leaves the applier at its own cap', () => {
    for (const [service, queueId] of [
      [stack.functions.plannerShard, 'PlanTaskQueue'],
      [stack.functions.checkerShard, 'CheckTaskQueue'],
    ] as const) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalId(service.function) },
        EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        BatchSize: 1,
        ScalingConfig: { MaximumConcurrency: 250 },
      });
    }
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FunctionName: { Ref: logicalId(stack.functions.applier.function) }, ScalingConfig: { MaximumConcurrency: 10 } });
  });

  it('tells every function the cut, as the coordinators and the shards must agree on it', () => {
    for (const service of Object.values(stack.functions)) {
      expect(json.Resources[logicalId(service.function)]?.Properties).toMatchObject({ Environment: { Variables: { NODES_PER_SHARD: '10000', NODES_PER_SEGMENT: '500', SHARDS: '8' } } });
    }
  });
});

describe('an alarm e-mail address', () => {
  const { template } = synth({ alarmEmail: 'ops@example.com' });

  it('subscribes it to the alarm topic', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});

describe("ingestReservedConcurrency 'none'", () => {
  const { json, stack } = synth({ ingestReservedConcurrency: 'none' });

  it('leaves ingest in the unreserved pool (accounts with a low concurrency limit cannot reserve)', () => {
    expect(json.Resources[logicalId(stack.functions.ingest.function)]?.Properties?.ReservedConcurrentExecutions).toBeUndefined();
  });
});

describe('another stream, service and namespace', () => {
  const { template, json, stack } = synth({ stream: 'orders', serviceName: 'sync-orders', metricsNamespace: 'Orders/Sync', logLevel: 'DEBUG', stackName: 'OrdersSync' });

  it('names the stack and sets the names in the environment and the metric dimensions', () => {
    expect(stack.stackName).toBe('OrdersSync');
    expect(json.Resources[logicalId(stack.functions.planner.function)]?.Properties).toMatchObject({
      Environment: { Variables: { STREAM_NAME: 'orders', POWERTOOLS_SERVICE_NAME: 'sync-orders', POWERTOOLS_METRICS_NAMESPACE: 'Orders/Sync', POWERTOOLS_LOG_LEVEL: 'DEBUG' } },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Orders/Sync',
      MetricName: METRIC.Converged,
      Dimensions: [{ Name: 'service', Value: 'sync-orders' }, { Name: 'stream', Value: 'orders' }],
    });
  });
});
