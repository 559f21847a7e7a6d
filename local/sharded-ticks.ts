/**
 * A planner or checker tick as the cloud runs it (DESIGN §5, §7): the coordinator handler invoked on
 * EventBridge Scheduler's payload (retried as Scheduler retries it), then its shard tasks delivered
 * from the standard task queue to the shard handler one record a batch, as the stack's event
 * sources do, until the queue is empty. What the tick did is read back from the tables the shards
 * write, as an operator would: the plan header's totals, the check header's merged outcome.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoCheckStore } from '#shared/adapters/dynamodb/check-store.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import type { CheckProgress } from '#shared/domain/ports.ts';
import type { ConvergenceRecord } from '#shared/domain/types.ts';
import type { StartCheckResult } from '#shared/usecases/start-check.ts';
import type { PlannedTick, StartPlanResult } from '#shared/usecases/start-plan.ts';
import { LOCAL_REGION } from './emulators.ts';
import { HandlerFailedError, StaleTickError } from './errors.ts';
import { FifoEventSource } from './event-source.ts';
import type { FunctionName } from './lambda-host.ts';
import { streamOf } from './random.ts';
import type { LocalResources } from './resources.ts';

/** EventBridge Scheduler's payload as the stack configures it (context attributes). */
export interface SchedulerPayload {
  readonly scheduledTime: string;
  readonly executionId: string;
  readonly attempt?: string;
}

/** What a planner tick did: the coordinator's cut, and the plan header as its shards left it. */
export interface PlanTick {
  readonly start: PlannedTick;
  readonly record: ConvergenceRecord;
}

/** What a checker tick did: the coordinator's choice, and how its shards stand (merged, with the outcome). */
export interface CheckTick {
  readonly start: StartCheckResult;
  readonly progress: CheckProgress;
}

/** Invokes a function of the local deployment (the Lambda host, or a caller that also counts). */
export type Invoke = <T>(name: FunctionName, event: unknown) => Promise<T>;

export interface ShardedTicksOptions {
  readonly invoke: Invoke;
  readonly sqs: SQSClient;
  readonly doc: DynamoDBDocumentClient;
  readonly resources: LocalResources;
  readonly stream: string;
  /** Shard invocations at once (Lambda scales a task queue's consumers out); default 4. */
  readonly concurrency?: number;
  /** Told about a shard invocation that threw (its task returns to the queue). */
  readonly onInvocationError?: (error: unknown) => void;
  /** Told about a coordinator attempt that failed before Scheduler's retry. */
  readonly log?: (line: string) => void;
}

export class ShardedTicks {
  private readonly planSource: FifoEventSource;
  private readonly checkSource: FifoEventSource;
  private readonly convergence: DynamoConvergenceStore;
  private readonly checks: DynamoCheckStore;

  constructor(private readonly options: ShardedTicksOptions) {
    const source = (queue: LocalResources['queues']['planTasks'], name: 'plannerShard' | 'checkerShard'): FifoEventSource =>
      new FifoEventSource({
        sqs: options.sqs,
        queue,
        region: LOCAL_REGION,
        faults: () => ({ duplicate: 0, crash: 0, reorder: 0, lose: 0 }),
        random: streamOf(0, name),
        batchSize: 1,
        concurrency: options.concurrency ?? 4,
        invoke: (event) => options.invoke<SQSBatchResponse>(name, event),
        ...(options.onInvocationError === undefined ? {} : { onInvocationError: options.onInvocationError }),
      });
    this.planSource = source(options.resources.queues.planTasks, 'plannerShard');
    this.checkSource = source(options.resources.queues.checkTasks, 'checkerShard');
    this.convergence = new DynamoConvergenceStore(options.doc, options.resources.tables.convergence);
    this.checks = new DynamoCheckStore(options.doc, options.resources.tables.convergence);
  }

  /**
   * The planner coordinator, `runs` times at once (a duplicated delivery), then every shard task.
   * @throws StaleTickError when the coordinator did not plan the tick (it came too late).
   */
  async plan(event: SchedulerPayload, runs = 1): Promise<PlanTick> {
    const starts = await Promise.all(Array.from({ length: runs }, () => this.scheduled<StartPlanResult>('planner', event)));
    await this.planSource.drain();
    const start = starts[0];
    if (start === undefined) throw new RangeError('the planner must run at least once');
    if (start.kind === 'stale') throw new StaleTickError(start.interval, start.reason);
    const [record] = await this.convergence.recent(this.options.stream, start.interval, 1);
    if (record?.interval !== start.interval) throw new HandlerFailedError('planner', 1, new Error(`interval ${start.interval} has no plan header after its planner ran`));
    return { start, record };
  }

  /** The checker coordinator, then every shard task: the last shard merges the tick. */
  async check(event: SchedulerPayload): Promise<CheckTick> {
    const start = await this.scheduled<StartCheckResult>('checker', event);
    await this.checkSource.drain();
    const stored = await this.checks.getCheckHeader(this.options.stream, start.interval);
    if (stored === undefined) throw new HandlerFailedError('checker', 1, new Error(`tick ${start.interval} has no check header after its checker ran`));
    return { start, progress: stored.progress };
  }

  /** EventBridge Scheduler retries a failed invocation (the stack's retry policy), with the next attempt number. */
  private async scheduled<T>(name: 'planner' | 'checker', event: SchedulerPayload): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.options.invoke<T>(name, { ...event, attempt: String(attempt) });
      } catch (error) {
        if (attempt >= 3) throw new HandlerFailedError(name, attempt, error);
        this.options.log?.(`${name} attempt ${attempt} failed, the scheduler retries: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      }
    }
  }
}
