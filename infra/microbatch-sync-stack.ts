/**
 * The whole running system as one stack (DESIGN §3): tables, queues, the six functions of FUNCTIONS
 * (the planner and checker coordinators, their shards, the applier and ingest) with least-privilege
 * grants, the schedules that drive the coordinators, and the alarms and dashboard that watch them.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import type { StackConfig } from './config.ts';
import { FUNCTION_NAMES, FUNCTIONS, type FunctionName } from './definitions.ts';
import { MicrobatchQueues } from './constructs/microbatch-queues.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { Schedules } from './constructs/schedules.ts';
import { ServiceFunction, type ServiceFunctionProps } from './constructs/service-function.ts';
import { SyncTables } from './constructs/sync-tables.ts';
import { TaskQueues } from './constructs/task-queues.ts';

export interface MicrobatchSyncStackProps extends StackProps {
  readonly config: StackConfig;
}

/** Lambda's ESM for FIFO queues takes at most 10 records a batch (DESIGN §10). */
const APPLIER_BATCH_SIZE = 10;

export class MicrobatchSyncStack extends Stack {
  readonly tables: SyncTables;
  readonly queues: MicrobatchQueues;
  readonly taskQueues: TaskQueues;
  readonly functions: Readonly<Record<FunctionName, ServiceFunction>>;
  readonly schedules: Schedules;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: MicrobatchSyncStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const applierTimeout = Duration.seconds(config.applier.timeoutSeconds);

    this.tables = new SyncTables(this, 'Tables', { removalPolicy });
    this.queues = new MicrobatchQueues(this, 'Queues', { applierTimeout, maxReceiveCount: config.maxReceiveCount, removalPolicy });
    this.taskQueues = new TaskQueues(this, 'TaskQueues', { removalPolicy });

    const { log, nodes, replica, convergence, ingestRequests, plans } = this.tables;
    const shardConsumer = { batchSize: 1, maxConcurrency: config.shardMaxConcurrency };
    // Each function from its definition (FUNCTIONS): description, timeout, memory.
    const service = (name: FunctionName, props: Pick<ServiceFunctionProps, 'timeout' | 'reservedConcurrentExecutions'> = {}): ServiceFunction =>
      new ServiceFunction(this, FUNCTIONS[name].constructId, { name, settings: config.settings, observability: config.observability, removalPolicy, ...props });

    // Each grant is the exact set of calls the function's adapters make (shared/adapters/*).
    const planner = service('planner')
      .useTable('logTable', log, ['GetItem']) // readHead
      .useTable('nodesTable', nodes, ['DescribeTable']) // fleetSize
      // putPlanHeader (GetItem reads back the header of a run that wrote first), latestPlanHeader,
      // the watermark; readClock and writeClock (the interval clock's item shares the table)
      .useTable('convergenceTable', convergence, ['PutItem', 'GetItem', 'Query'])
      .useQueue('planTaskQueueUrl', this.taskQueues.plan.queue, ['SendMessage']); // SendMessageBatch is authorized as SendMessage

    const plannerShard = service('plannerShard')
      // scanSegment; claimPlan for the nodes a segment's record has no room for
      .useTable('nodesTable', nodes, ['Scan', 'UpdateItem'])
      .useTable('plansTable', plans, ['Query', 'PutItem']) // latest, commit
      .useTable('convergenceTable', convergence, ['Query', 'UpdateItem']) // latestPlanHeader (is the task superseded?), reportPlanShard
      .useQueue('queueUrl', this.queues.queue, ['SendMessage'])
      // Its own task queue's URL: a failed task's visibility is shortened so it is retried within the interval.
      .consume(this.taskQueues.plan.queue, { ...shardConsumer, urlAs: 'planTaskQueueUrl' });

    const applier = service('applier', { timeout: applierTimeout })
      .useTable('logTable', log, ['Query']) // readRange
      .useTable('nodesTable', nodes, ['GetItem', 'UpdateItem']) // get, advanceCursor
      .useTable('replicaTable', replica, ['PutItem']) // seq-guarded write
      .consume(this.queues.queue, { batchSize: APPLIER_BATCH_SIZE, maxConcurrency: config.applier.maxConcurrency });

    const checker = service('checker')
      .useTable('logTable', log, ['GetItem']) // readHead
      .useTable('nodesTable', nodes, ['DescribeTable']) // fleetSize
      // statuses (GetItem: the watermark, Query: the records above it), latestPlanHeader, expire,
      // closeThrough, readClock; putCheckHeader and getCheckHeader (the check records share the table)
      .useTable('convergenceTable', convergence, ['GetItem', 'Query', 'PutItem', 'UpdateItem'])
      .useQueue('checkTaskQueueUrl', this.taskQueues.check.queue, ['SendMessage']);

    const checkerShard = service('checkerShard')
      .useTable('logTable', log, ['BatchGetItem']) // readChains
      .useTable('nodesTable', nodes, ['Scan']) // scanSegment
      // putPartial, reportCheckShard, getCheckHeader, partials, markMerged, recordVerdict
      .useTable('convergenceTable', convergence, ['GetItem', 'PutItem', 'UpdateItem', 'Query'])
      .consume(this.taskQueues.check.queue, shardConsumer);

    // The head item is one hot key: more writers only lose more transaction races.
    const ingest = service('ingest', config.ingest.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: config.ingest.reservedConcurrency })
      // readHead; append's TransactWriteItems is authorized per item: Update (head) and Put (entries).
      .useTable('logTable', log, ['GetItem', 'UpdateItem', 'PutItem'])
      // readMarkers; the chunk marker's Put in append's transaction.
      .useTable('ingestRequestsTable', ingestRequests, ['Query', 'PutItem']);

    this.functions = { planner, plannerShard, applier, checker, checkerShard, ingest };

    this.schedules = new Schedules(this, 'Schedules', {
      planner: planner.function,
      checker: checker.function,
      intervalSeconds: config.settings.intervalSeconds,
      removalPolicy,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      functions: Object.fromEntries(FUNCTION_NAMES.map((name) => [name, this.functions[name].function])) as unknown as Record<FunctionName, IFunction>,
      microbatchDeadLetterQueue: this.queues.deadLetterQueue,
      taskQueues: this.taskQueues,
      failedTicksQueue: this.schedules.failedTicks,
      metricsNamespace: config.observability.metricsNamespace,
      serviceName: config.observability.serviceName,
      stream: config.settings.stream,
      intervalSeconds: config.settings.intervalSeconds,
      notConvergedIntervals: config.alarms.notConvergedIntervals,
      functionErrorsThreshold: config.alarms.functionErrors,
      alarmEmail: config.alarms.email,
    });

    this.outputs();
  }

  private outputs(): void {
    const output = (id: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description });
    };
    output('LogTableName', this.tables.log.tableName, 'Log table: the head item (seq 0) and the updates');
    output('NodesTableName', this.tables.nodes.tableName, 'Nodes table: register nodes here');
    output('ReplicaTableName', this.tables.replica.tableName, "Replica table: the nodes' data");
    output('ConvergenceTableName', this.tables.convergence.tableName, 'Convergence table: plan headers and verdicts per interval');
    output('IngestRequestsTableName', this.tables.ingestRequests.tableName, 'IngestRequests table: a marker per committed chunk of an idempotent ingest request');
    output('PlansTableName', this.tables.plans.tableName, "Plans table: each segment's plan record per interval");
    output('QueueUrl', this.queues.queue.queueUrl, 'Microbatch FIFO queue');
    output('DeadLetterQueueUrl', this.queues.deadLetterQueue.queueUrl, 'Microbatches that failed maxReceiveCount times');
    output('FailedTicksQueueUrl', this.schedules.failedTicks.queueUrl, "Lost planner/checker ticks: Scheduler's dead letters and Lambda's on-failure records");
    output('PlanTaskQueueUrl', this.taskQueues.plan.queue.queueUrl, 'Planner shard tasks');
    output('PlanTaskDeadLetterQueueUrl', this.taskQueues.plan.deadLetterQueue.queueUrl, 'Planner shard tasks that failed maxReceiveCount times');
    output('CheckTaskQueueUrl', this.taskQueues.check.queue.queueUrl, 'Checker shard tasks');
    output('CheckTaskDeadLetterQueueUrl', this.taskQueues.check.deadLetterQueue.queueUrl, 'Checker shard tasks that failed maxReceiveCount times');
    output('PlannerFunctionName', this.functions.planner.function.functionName, 'Planner function (the coordinator)');
    output('PlannerShardFunctionName', this.functions.plannerShard.function.functionName, 'Planner shard function');
    output('ApplierFunctionName', this.functions.applier.function.functionName, 'Applier function');
    output('CheckerFunctionName', this.functions.checker.function.functionName, 'Checker function (the coordinator)');
    output('CheckerShardFunctionName', this.functions.checkerShard.function.functionName, 'Checker shard function');
    output('IngestFunctionName', this.functions.ingest.function.functionName, 'Ingest function: invoke it with { updates, idempotencyKey? }');
    output('AlarmTopicArn', this.monitoring.topic.topicArn, 'SNS topic of every alarm: subscribe to it');
    output('DashboardUrl', this.monitoring.dashboardUrl, 'CloudWatch dashboard');
  }
}
