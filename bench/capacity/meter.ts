/**
 * Counts DynamoDB capacity units from the requests the code makes and the answers it gets, by
 * DynamoDB's published rules, because DynamoDB Local's own `ConsumedCapacity` under-counts
 * transactions and says nothing for a failed conditional write. The rules (AWS developer guide,
 * "DynamoDB read and write operations", "Condition expressions", "Amazon DynamoDB transactions"):
 *
 *   - a write costs 1 write unit per started KB (1,024 bytes) of the item, at least 1; PutItem and
 *     UpdateItem count the larger of the item before and after the write, DeleteItem the item deleted;
 *   - a write whose condition fails still costs its units: the size of the existing item, at least 1;
 *   - each action of TransactWriteItems costs twice its standard units (a cancelled transaction is
 *     counted as if every action had failed its condition, twice: the meter never under-counts);
 *   - a read costs 1 read unit per started 4 KB, at least 1; eventually consistent reads half that;
 *     Query and Scan add up the items' sizes before rounding, BatchGetItem rounds each item; a read
 *     is billed on the whole item even when a projection returns part of it.
 *
 * Item sizes come from a shadow of every item the meter has seen written (or read whole), so an
 * update's "before" and a projected read's full size are known; an item it has never seen counts
 * as absent. Throttled and malformed requests cost nothing.
 */
import { itemBytes, type WireItem, type WireValue } from './attribute-size.ts';
import { applyUpdateExpression } from './update-expression.ts';

/** One DynamoDB request and its answer, as the JSON protocol carries them. */
export interface DynamoExchange {
  /** The operation, as in the `X-Amz-Target` header (`PutItem`, `TransactWriteItems`, …). */
  readonly operation: string;
  readonly request: Readonly<Record<string, unknown>>;
  /** HTTP status of the answer. */
  readonly status: number;
  readonly response: Readonly<Record<string, unknown>>;
}

/** Units of one table. */
export interface TableUnits {
  write: number;
  read: number;
}

/** What one exchange cost. */
export interface Charge {
  readonly write: number;
  readonly read: number;
  readonly byTable: Readonly<Record<string, TableUnits>>;
  /** What DynamoDB Local reported (`ReturnConsumedCapacity`), when it reported anything. */
  readonly reported: TableUnits;
  /** A write refused by its condition (or a cancelled transaction). */
  readonly conditionFailed: boolean;
}

const KB = 1024;
const READ_BLOCK = 4 * KB;
const TRANSACTION_FACTOR = 2;

/** Write units for an item of `bytes`: one per started KB, at least one. */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / KB));
}

/** Read units for `bytes` read in one request (or one BatchGetItem item): one per started 4 KB, at least one; half when eventually consistent. */
export function readUnits(bytes: number, consistent: boolean): number {
  return Math.max(1, Math.ceil(bytes / READ_BLOCK)) * (consistent ? 1 : 0.5);
}

type Item = WireItem;

const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/** DynamoDB's answer type without its namespace (`ConditionalCheckFailedException`). */
export function errorType(response: Readonly<Record<string, unknown>>): string {
  const type = response.__type;
  return typeof type === 'string' ? (type.split('#').at(-1) ?? type) : '';
}

export class CapacityMeter {
  private readonly shadow = new Map<string, Item>();

  /** @param keyOf the key attribute names of a table (by its physical name); undefined for a table it does not know. */
  constructor(private readonly keyOf: (table: string) => readonly string[] | undefined) {}

  /** Charges one exchange and brings the shadow up to date with its effect. */
  record(exchange: DynamoExchange): Charge {
    const byTable: Record<string, TableUnits> = {};
    const charge = (table: string, kind: keyof TableUnits, units: number): void => {
      const entry = (byTable[table] ??= { write: 0, read: 0 });
      entry[kind] += units;
    };
    const type = exchange.status === 200 ? '' : errorType(exchange.response);
    const conditionFailed = type === 'ConditionalCheckFailedException' || type === 'TransactionCanceledException';
    if (exchange.status === 200 || conditionFailed) this.charge(exchange, conditionFailed, charge);
    const totals = Object.values(byTable).reduce((sum, units) => ({ write: sum.write + units.write, read: sum.read + units.read }), { write: 0, read: 0 });
    return { ...totals, byTable, reported: reported(exchange), conditionFailed };
  }

  private charge(exchange: DynamoExchange, failed: boolean, charge: (table: string, kind: keyof TableUnits, units: number) => void): void {
    const { request, response } = exchange;
    const table = text(request.TableName);
    switch (exchange.operation) {
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem': {
        const write = this.write(table, exchange.operation, request, failed);
        charge(table, 'write', write);
        return;
      }
      case 'TransactWriteItems': {
        for (const action of (request.TransactItems ?? []) as Record<string, Record<string, unknown>>[]) {
          const [kind, body] = Object.entries(action)[0] ?? [];
          if (kind === undefined || body === undefined) continue;
          const actionTable = text(body.TableName);
          const operation = kind === 'Put' ? 'PutItem' : kind === 'Update' ? 'UpdateItem' : kind === 'Delete' ? 'DeleteItem' : 'ConditionCheck';
          charge(actionTable, 'write', TRANSACTION_FACTOR * this.write(actionTable, operation, body, failed));
        }
        return;
      }
      case 'BatchWriteItem': {
        for (const [batchTable, requests] of Object.entries((request.RequestItems ?? {}) as Record<string, Record<string, { Item?: Item; Key?: Item }>[]>)) {
          for (const entry of requests) {
            if (entry.PutRequest?.Item !== undefined) charge(batchTable, 'write', this.write(batchTable, 'PutItem', { Item: entry.PutRequest.Item }, false));
            if (entry.DeleteRequest?.Key !== undefined) charge(batchTable, 'write', this.write(batchTable, 'DeleteItem', { Key: entry.DeleteRequest.Key }, false));
          }
        }
        return;
      }
      case 'GetItem': {
        const found = response.Item as Item | undefined;
        const size = this.fullSize(table, request.Key as Item, found, request.ProjectionExpression === undefined);
        charge(table, 'read', readUnits(size, request.ConsistentRead === true));
        return;
      }
      case 'Query':
      case 'Scan': {
        const whole = request.ProjectionExpression === undefined;
        const items = (response.Items ?? []) as Item[];
        const bytes = items.reduce((sum, item) => sum + this.fullSize(table, this.keyFrom(table, item), item, whole), 0);
        charge(table, 'read', readUnits(bytes, request.ConsistentRead === true));
        return;
      }
      case 'BatchGetItem': {
        const returned = (response.Responses ?? {}) as Record<string, Item[]>;
        const unprocessed = (response.UnprocessedKeys ?? {}) as Record<string, { Keys?: Item[] }>;
        for (const [batchTable, read] of Object.entries((request.RequestItems ?? {}) as Record<string, { Keys?: Item[]; ConsistentRead?: boolean; ProjectionExpression?: string }>)) {
          const skipped = new Set((unprocessed[batchTable]?.Keys ?? []).map((key) => JSON.stringify(key)));
          for (const key of read.Keys ?? []) {
            if (skipped.has(JSON.stringify(key))) continue;
            const match = (returned[batchTable] ?? []).find((item) => Object.entries(item).every(([name, value]) => !(name in key) || sameValue(key[name], value)));
            charge(batchTable, 'read', readUnits(this.fullSize(batchTable, key, match, read.ProjectionExpression === undefined), read.ConsistentRead === true));
          }
        }
        return;
      }
      default:
      // Control-plane calls (CreateTable, DescribeTable, …) cost no capacity units.
    }
  }

  /** Standard write units of one write (not yet doubled for a transaction), applying its effect when it succeeded. */
  private write(table: string, operation: string, body: Readonly<Record<string, unknown>>, failed: boolean): number {
    const key = operation === 'PutItem' ? this.keyFrom(table, body.Item as Item) : (body.Key as Item);
    const id = this.id(table, key);
    const before = this.shadow.get(id);
    const beforeBytes = before === undefined ? 0 : itemBytes(before);
    if (failed || operation === 'ConditionCheck') return writeUnits(beforeBytes);
    if (operation === 'DeleteItem') {
      this.shadow.delete(id);
      return writeUnits(beforeBytes);
    }
    const after =
      operation === 'PutItem'
        ? (body.Item as Item)
        : applyUpdateExpression(before ?? key, text(body.UpdateExpression), {
            names: (body.ExpressionAttributeNames ?? {}) as Record<string, string>,
            values: (body.ExpressionAttributeValues ?? {}) as Record<string, WireValue>,
          });
    this.shadow.set(id, after);
    return writeUnits(Math.max(beforeBytes, itemBytes(after)));
  }

  /** The size a read is billed on: the whole item as last seen, else what came back; a read whole teaches the shadow. */
  private fullSize(table: string, key: Item, returned: Item | undefined, whole: boolean): number {
    const id = this.id(table, key);
    if (whole && returned !== undefined) this.shadow.set(id, returned);
    const known = this.shadow.get(id);
    if (known !== undefined) return itemBytes(known);
    return returned === undefined ? 0 : itemBytes(returned);
  }

  private keyFrom(table: string, item: Item): Item {
    const names = this.keyOf(table) ?? [];
    return Object.fromEntries(names.flatMap((name) => (item[name] === undefined ? [] : [[name, item[name]]])));
  }

  private id(table: string, key: Item): string {
    const names = this.keyOf(table) ?? Object.keys(key).sort();
    return `${table}\u0000${JSON.stringify(names.map((name) => key[name] ?? null))}`;
  }
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function sameValue(a: WireValue | undefined, b: WireValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** DynamoDB Local's own figure: `ConsumedCapacity` (one entry, or one per table). */
function reported(exchange: DynamoExchange): TableUnits {
  const consumed = exchange.response.ConsumedCapacity;
  const entries = (Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) as { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number }[];
  const units = entries.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
  return WRITE_OPERATIONS.has(exchange.operation) ? { write: units, read: 0 } : { write: 0, read: units };
}
