/**
 * What one interval of the sharded planner or checker costs, from the requests it makes (counted by
 * the fake endpoint and the capacity meter) and the time its invocations take, at bench/pricing.ts's
 * list prices; expressed per million node-intervals (a node planned, or judged, for one interval).
 * Free tiers are left out; the applier's work is not part of it.
 */
import { FUNCTIONS } from '#infra/definitions.ts';
import { PRICES } from '../pricing.ts';

/** What one interval used. */
export interface IntervalUsage {
  /** Nodes the interval covered: the denominator. */
  readonly nodes: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** Billable FIFO requests (the microbatch queue). */
  readonly fifoRequests: number;
  /** Billable standard-queue requests (the shard task queues). */
  readonly standardRequests: number;
  readonly lambdaRequests: number;
  readonly lambdaGbSeconds: number;
}

export interface CostPerMillion {
  readonly dynamodb: number;
  readonly sqs: number;
  readonly lambda: number;
  readonly total: number;
  /** The usage behind it, per million node-intervals. */
  readonly perMillion: Omit<IntervalUsage, 'nodes'>;
}

/** GB-seconds of an invocation of `fn` that ran `ms` (billed per started millisecond). */
export function gbSeconds(fn: keyof typeof FUNCTIONS, ms: number): number {
  return (FUNCTIONS[fn].memoryMB / 1024) * (Math.ceil(ms) / 1000);
}

const usd = (value: number): number => Number(value.toFixed(5));
const amount = (value: number): number => Number(value.toFixed(1));

export function costPerMillion(usage: IntervalUsage): CostPerMillion {
  const scale = 1e6 / usage.nodes;
  const dynamodb = (usage.readUnits * PRICES.dynamodb.perReadRequestUnit + usage.writeUnits * PRICES.dynamodb.perWriteRequestUnit) * scale;
  const sqs = (usage.fifoRequests * PRICES.sqs.perFifoRequest + usage.standardRequests * PRICES.sqs.perStandardRequest) * scale;
  const lambda = (usage.lambdaRequests * PRICES.lambda.perRequest + usage.lambdaGbSeconds * PRICES.lambda.perGbSecondArm) * scale;
  return {
    dynamodb: usd(dynamodb),
    sqs: usd(sqs),
    lambda: usd(lambda),
    total: usd(dynamodb + sqs + lambda),
    perMillion: {
      readUnits: amount(usage.readUnits * scale),
      writeUnits: amount(usage.writeUnits * scale),
      fifoRequests: amount(usage.fifoRequests * scale),
      standardRequests: amount(usage.standardRequests * scale),
      lambdaRequests: amount(usage.lambdaRequests * scale),
      lambdaGbSeconds: amount(usage.lambdaGbSeconds * scale),
    },
  };
}
