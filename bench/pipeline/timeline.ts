/**
 * Where a run's wall time went, from the recorded requests' start and end times: each moment is
 * given to the most essential kind of request in flight then — the floor's writes (log
 * transactions, replica puts) first, then the other DynamoDB requests (node and log reads, cursor
 * moves, claims, verdicts), then SQS — and a moment with nothing in flight is the processes' own
 * work (handlers, Lambda host, event source). The floor's writes' share, against the floor's own
 * wall time, tells how much of the overhead is the machinery's requests and how much its CPU.
 */
import { logicalTable } from '../capacity/tally.ts';
import { tableOf, type Exchange } from '../request-recorder.ts';

export const KINDS = ['floorWrites', 'otherDynamoDb', 'sqs', 'nothingInFlight'] as const;
export type TimeKind = (typeof KINDS)[number];

function kindOf(exchange: Exchange): Exclude<TimeKind, 'nothingInFlight'> {
  if (exchange.service === 'sqs') return 'sqs';
  if (exchange.operation === 'TransactWriteItems') return 'floorWrites';
  if (exchange.operation === 'PutItem' && logicalTable(tableOf(exchange)) === 'replica') return 'floorWrites';
  return 'otherDynamoDb';
}

/** Milliseconds of [from, to] given to each kind (they add up to to − from). */
export function timeline(exchanges: readonly Exchange[], from: number, to: number): Record<TimeKind, number> {
  const events: { readonly at: number; readonly kind: Exclude<TimeKind, 'nothingInFlight'>; readonly delta: 1 | -1 }[] = [];
  for (const exchange of exchanges) {
    const kind = kindOf(exchange);
    events.push({ at: Math.max(from, exchange.startedAt), kind, delta: 1 }, { at: Math.min(to, exchange.endedAt), kind, delta: -1 });
  }
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  const inFlight: Record<Exclude<TimeKind, 'nothingInFlight'>, number> = { floorWrites: 0, otherDynamoDb: 0, sqs: 0 };
  const spent: Record<TimeKind, number> = { floorWrites: 0, otherDynamoDb: 0, sqs: 0, nothingInFlight: 0 };
  let last = from;
  const current = (): TimeKind => KINDS.find((kind) => kind !== 'nothingInFlight' && inFlight[kind] > 0) ?? 'nothingInFlight';
  for (const event of events) {
    spent[current()] += Math.max(0, event.at - last);
    last = Math.max(last, event.at);
    inFlight[event.kind] += event.delta;
  }
  spent[current()] += Math.max(0, to - last);
  return Object.fromEntries(KINDS.map((kind) => [kind, Math.round(spent[kind])])) as Record<TimeKind, number>;
}
