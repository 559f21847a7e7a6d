/**
 * What the handler tests share: scheduled events of both shapes, and DynamoDB items laid out as the
 * adapters store them (values as JSON text), built from a log whose hash chain verifies.
 */
import { GENESIS_CHAIN, nextChain } from '#shared/domain/chain.ts';
import type { ScheduledEvent } from '#shared/domain/scheduled-event.ts';
import type { LogEntry, NewUpdate, NodeState } from '#shared/domain/types.ts';

export const STREAM = 'main';

/** A tick 42 seconds into a minute: with t = 60 s it falls in interval k = floor(1795774722 / 60). */
export const SCHEDULED_AT = '2026-11-27T10:18:42Z';
export const INTERVAL = 29_929_578;

/** The classic EventBridge rule payload. */
export function classicScheduledEvent(time = SCHEDULED_AT): ScheduledEvent {
  return {
    version: '0',
    id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time,
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/MicrobatchSync-Tick'],
    detail: {},
  };
}

/** The EventBridge Scheduler payload the stack builds from context attributes. */
export function schedulerEvent(scheduledTime = SCHEDULED_AT): ScheduledEvent {
  return {
    scheduledTime,
    executionId: 'b1f2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    attempt: '1',
  };
}

/**
 * Log entries `from+1 …` for `updates`, each chained on the one before (starting from `chain`),
 * produced one second apart from 10:00:00.
 */
export function logEntries(updates: readonly NewUpdate[], from = 0, chain = GENESIS_CHAIN): LogEntry[] {
  let previous = chain;
  return updates.map((update, index) => {
    const seq = from + index + 1;
    previous = nextChain(previous, seq, update);
    return { ...update, seq, chain: previous, producedAt: new Date(Date.UTC(2026, 10, 27, 10, 0, seq % 3600)).toISOString() };
  });
}

/** `count` puts of distinct keys. */
export function puts(count: number, offset = 0): NewUpdate[] {
  return Array.from({ length: count }, (_, index) => ({ key: `key-${offset + index + 1}`, op: 'put' as const, value: { n: offset + index + 1 } }));
}

/** A Log entry item as the log store writes it. */
export function logItem(entry: LogEntry, stream = STREAM): Record<string, unknown> {
  return {
    stream,
    seq: entry.seq,
    key: entry.key,
    op: entry.op,
    ...(entry.value === undefined ? {} : { value: JSON.stringify(entry.value) }),
    chain: entry.chain,
    producedAt: entry.producedAt,
  };
}

/** The Log's head item (seq 0). */
export function headItem(head: number, headChain: string, stream = STREAM): Record<string, unknown> {
  return { stream, seq: 0, head, headChain, updatedAt: '2026-11-27T10:17:59.000Z' };
}

/** A Nodes item; a fresh active node unless told otherwise. */
export function nodeItem(node: Partial<NodeState> & Pick<NodeState, 'nodeId'>): Record<string, unknown> {
  return { rate: 1, status: 'active', appliedSeq: 0, appliedChain: GENESIS_CHAIN, plannedSeq: 0, ...node };
}
