/**
 * The faults of the catalogue that strike once per tick, for every run that ticks (`npm start`'s
 * simulated clock, `microbatch up`'s real one): poison messages put on the microbatch queue, and a
 * planner tick delivered twice, as Scheduler's at-least-once delivery may.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { chance, type Random } from './random.ts';
import type { PlanTick, SchedulerPayload, ShardedTicks } from './sharded-ticks.ts';

/** Messages one `poison` strike puts on the queue (what the summary counts). */
export const POISON_MESSAGES = 2;

/** One body that is not JSON into a real node's group, one of a schema version the applier does not know into a group of its own. */
export async function injectPoison(sqs: SQSClient, queueUrl: string, tag: string, nodeId: string, interval: number): Promise<void> {
  const wrongVersion = { v: 3, stream: 'main', nodeId: 'poison', interval, from: 0, target: 1, index: 0, count: 1, plannedAt: new Date().toISOString() };
  await Promise.all([
    sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `{"v":1,"nodeId":"${nodeId}","from":`, MessageGroupId: nodeId, MessageDeduplicationId: `poison-${tag}-a` })),
    sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(wrongVersion), MessageGroupId: 'poison', MessageDeduplicationId: `poison-${tag}-b` })),
  ]);
}

/**
 * The planner on the Scheduler payload, then its shards; with probability `p` (`planner-duplicate`)
 * the tick is delivered twice — at once, or again once the first has planned.
 */
export async function planMaybeTwice(ticks: ShardedTicks, event: SchedulerPayload, random: Random, p: number): Promise<{ readonly tick: PlanTick; readonly duplicated: boolean }> {
  if (!chance(random, p)) return { tick: await ticks.plan(event), duplicated: false };
  if (chance(random, 0.5)) return { tick: await ticks.plan(event, 2), duplicated: true };
  await ticks.plan(event);
  return { tick: await ticks.plan(event), duplicated: true };
}
