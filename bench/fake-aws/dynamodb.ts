/**
 * The DynamoDB side of the fake AWS endpoint (endpoint.ts): tables held in memory as wire items (the
 * JSON protocol's attribute values), answering the operations the planner and checker use —
 * GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan, BatchGetItem, DescribeTable — with bodies
 * shaped as DynamoDB shapes them. What it deliberately leaves out, because the bench's runs never
 * need it: condition expressions are not evaluated (every write succeeds, as in a run that loses no
 * race; the bench resets what a run wrote before the next), filter expressions are refused, and
 * throughput is unlimited.
 *
 * A Scan segment can be prepared: its pages are cut once (1 MB of items by DynamoDB's size rule,
 * as DynamoDB cuts them) and kept as ready response bodies, so that answering a page costs the
 * server a lookup, not the serialization of 2,000 items.
 */
import { itemBytes, type WireItem, type WireValue } from '../capacity/attribute-size.ts';
import { applyUpdateExpression } from '../capacity/update-expression.ts';

/** What one Scan or Query page reads at most. */
export const PAGE_BYTES = 1024 * 1024;

/** The key attribute names of a table. */
export interface KeySchema {
  readonly partition: string;
  readonly sort?: string;
}

/** An answer to one request: HTTP status and body. */
export interface Answer {
  readonly status: number;
  readonly body: Buffer | string;
}

/** A DynamoDB error as the JSON protocol carries it. */
function dynamoError(type: string, message: string, status = 400): Answer {
  return { status, body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }) };
}

/**
 * The segment of a parallel Scan of `segments` that holds a partition key: a range of a 32-bit hash
 * (FNV-1a, then murmur3's finalizer to spread sequential ids), as DynamoDB takes a range of its own
 * hash — so segment g of B holds exactly segments 2g and 2g + 1 of 2B.
 */
export function segmentOf(partitionKey: string, segments: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < partitionKey.length; index += 1) hash = Math.imul(hash ^ partitionKey.charCodeAt(index), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return Math.floor(((hash >>> 0) * segments) / 2 ** 32);
}

interface Stored {
  readonly item: WireItem;
  /** The item as JSON, and its projections by expression: made once, sent many times. */
  json?: string;
  projections?: Map<string, string>;
}

interface PreparedScan {
  readonly pages: readonly Buffer[];
  /** The page that follows a page's LastEvaluatedKey (as JSON). */
  readonly next: ReadonlyMap<string, number>;
}

interface Table {
  readonly key: KeySchema;
  /** Items by partition key, then by sort key ('' without one), in insertion order. */
  readonly partitions: Map<string, Map<string, Stored>>;
  /** What DescribeTable reports; undefined: the items held. */
  itemCount?: number;
  readonly scans: Map<string, PreparedScan>;
}

type Request = Readonly<Record<string, unknown>>;

function scalar(value: WireValue | undefined): string {
  if (value === undefined) return '';
  if ('S' in value) return value.S;
  if ('N' in value) return value.N;
  if ('B' in value) return value.B;
  throw new TypeError('a key attribute must be a string, number or binary');
}

function compareSort(a: WireValue | undefined, b: WireValue | undefined): number {
  if (a !== undefined && b !== undefined && 'N' in a && 'N' in b) return Number(a.N) - Number(b.N);
  const left = scalar(a);
  const right = scalar(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Top-level attribute names of a projection, its placeholders resolved. */
function projectedNames(request: Request): readonly string[] | undefined {
  const expression = request.ProjectionExpression;
  if (typeof expression !== 'string') return undefined;
  const names = (request.ExpressionAttributeNames ?? {}) as Record<string, string>;
  return expression.split(',').map((part) => {
    const name = part.trim();
    return name.startsWith('#') ? (names[name] ?? name) : name;
  });
}

function jsonOf(stored: Stored, projection: readonly string[] | undefined): string {
  if (projection === undefined) return (stored.json ??= JSON.stringify(stored.item));
  const id = projection.join('\u0000');
  stored.projections ??= new Map();
  let json = stored.projections.get(id);
  if (json === undefined) {
    json = JSON.stringify(Object.fromEntries(projection.flatMap((name) => (stored.item[name] === undefined ? [] : [[name, stored.item[name]]]))));
    stored.projections.set(id, json);
  }
  return json;
}

/** A key condition: `pk = :v`, optionally `AND sk <op> :v` or `AND sk BETWEEN :a AND :b`. */
const KEY_CONDITION = /^\s*(#?\w+)\s*=\s*(:\w+)\s*(?:AND\s+(#?\w+)\s*(?:(<=|>=|<|>|=)\s*(:\w+)|BETWEEN\s+(:\w+)\s+AND\s+(:\w+)))?\s*$/i;

/** DynamoDB tables in memory, answering the JSON protocol's requests (see the module's comment for what it leaves out). */
export class FakeDynamoDb {
  private readonly tables = new Map<string, Table>();

  createTable(name: string, key: KeySchema): void {
    this.tables.set(name, { key, partitions: new Map(), scans: new Map() });
  }

  /** What DescribeTable reports as the table's item count (a fleet need not be held to be counted). */
  setItemCount(name: string, count: number): void {
    this.table(name).itemCount = count;
  }

  put(name: string, item: WireItem): void {
    const table = this.table(name);
    const partition = scalar(item[table.key.partition]);
    let items = table.partitions.get(partition);
    if (items === undefined) table.partitions.set(partition, (items = new Map<string, Stored>()));
    items.set(table.key.sort === undefined ? '' : scalar(item[table.key.sort]), { item });
  }

  get(name: string, key: WireItem): WireItem | undefined {
    return this.find(this.table(name), key)?.item;
  }

  delete(name: string, key: WireItem): boolean {
    const table = this.table(name);
    return table.partitions.get(scalar(key[table.key.partition]))?.delete(table.key.sort === undefined ? '' : scalar(key[table.key.sort])) ?? false;
  }

  /** Every item of a table, partition by partition. */
  *items(name: string): Generator<WireItem> {
    for (const items of this.table(name).partitions.values()) for (const stored of items.values()) yield stored.item;
  }

  /**
   * Cuts segment `segment` of a `segments`-way parallel Scan of `items` into its pages once; a Scan
   * of that segment is then answered from them (the items need not be held in the table).
   * @returns the number of pages.
   */
  prepareScan(name: string, segments: number, segment: number, items: readonly WireItem[]): number {
    const table = this.table(name);
    const { pages, next } = cutPages(items, (item) => this.keyJson(table, item));
    table.scans.set(`${segments}/${segment}`, { pages, next });
    return pages.length;
  }

  /** Forgets the prepared pages of a table. */
  dropScans(name: string): void {
    this.table(name).scans.clear();
  }

  /** Answers one request of `operation` (the X-Amz-Target's suffix). */
  handle(operation: string, request: Request): Answer {
    const name = typeof request.TableName === 'string' ? request.TableName : undefined;
    if (operation === 'BatchGetItem') return this.batchGet(request);
    const table = name === undefined ? undefined : this.tables.get(name);
    if (table === undefined || name === undefined) return dynamoError('ResourceNotFoundException', `Requested resource not found: Table: ${String(name)} not found`);
    switch (operation) {
      case 'GetItem': {
        const found = this.find(table, request.Key as WireItem);
        return ok(found === undefined ? '{}' : `{"Item":${jsonOf(found, projectedNames(request))}}`);
      }
      case 'PutItem':
        this.put(name, request.Item as WireItem);
        return ok('{}');
      case 'UpdateItem': {
        const key = request.Key as WireItem;
        const before = this.find(table, key)?.item ?? key;
        const after = applyUpdateExpression(before, String(request.UpdateExpression), {
          names: (request.ExpressionAttributeNames ?? {}) as Record<string, string>,
          values: (request.ExpressionAttributeValues ?? {}) as Record<string, WireValue>,
        });
        this.put(name, after);
        return ok(request.ReturnValues === 'ALL_NEW' ? `{"Attributes":${JSON.stringify(after)}}` : '{}');
      }
      case 'DeleteItem':
        this.delete(name, request.Key as WireItem);
        return ok('{}');
      case 'Query':
        return this.query(table, request);
      case 'Scan':
        return this.scan(table, request);
      case 'DescribeTable': {
        let count = 0;
        for (const items of table.partitions.values()) count += items.size;
        return ok(JSON.stringify({ Table: { TableName: name, TableStatus: 'ACTIVE', ItemCount: table.itemCount ?? count } }));
      }
      default:
        return dynamoError('UnknownOperationException', `the fake endpoint does not serve ${operation}`);
    }
  }

  private table(name: string): Table {
    const table = this.tables.get(name);
    if (table === undefined) throw new RangeError(`no table ${name}`);
    return table;
  }

  private find(table: Table, key: WireItem): Stored | undefined {
    return table.partitions.get(scalar(key[table.key.partition]))?.get(table.key.sort === undefined ? '' : scalar(key[table.key.sort]));
  }

  private keyJson(table: Table, item: WireItem): string {
    const key: Record<string, WireValue> = {};
    for (const name of [table.key.partition, table.key.sort]) if (name !== undefined && item[name] !== undefined) key[name] = item[name];
    return JSON.stringify(key);
  }

  private batchGet(request: Request): Answer {
    const parts: string[] = [];
    for (const [name, read] of Object.entries((request.RequestItems ?? {}) as Record<string, Request>)) {
      const table = this.tables.get(name);
      if (table === undefined) return dynamoError('ResourceNotFoundException', `Requested resource not found: Table: ${name} not found`);
      const projection = projectedNames(read);
      const found: string[] = [];
      for (const key of (read.Keys ?? []) as WireItem[]) {
        const stored = this.find(table, key);
        if (stored !== undefined) found.push(jsonOf(stored, projection));
      }
      parts.push(`${JSON.stringify(name)}:[${found.join(',')}]`);
    }
    return ok(`{"Responses":{${parts.join(',')}},"UnprocessedKeys":{}}`);
  }

  private query(table: Table, request: Request): Answer {
    const match = KEY_CONDITION.exec(String(request.KeyConditionExpression));
    if (match === null) return dynamoError('ValidationException', `the fake endpoint cannot evaluate the key condition ${String(request.KeyConditionExpression)}`);
    const [, , partitionValue = '', , operator, operand, low, high] = match;
    const values = (request.ExpressionAttributeValues ?? {}) as Record<string, WireValue>;
    const sortName = table.key.sort;
    const test = (item: WireItem): boolean => {
      if (sortName === undefined || (operator === undefined && low === undefined)) return true;
      const sort = item[sortName];
      if (low !== undefined && high !== undefined) return compareSort(sort, values[low]) >= 0 && compareSort(sort, values[high]) <= 0;
      const order = compareSort(sort, values[operand ?? '']);
      return operator === '<' ? order < 0 : operator === '<=' ? order <= 0 : operator === '>' ? order > 0 : operator === '>=' ? order >= 0 : order === 0;
    };
    const forward = request.ScanIndexForward !== false;
    let found = [...(table.partitions.get(scalar(values[partitionValue])) ?? new Map<string, Stored>()).values()].filter((stored) => test(stored.item));
    found.sort((a, b) => (forward ? 1 : -1) * compareSort(sortName === undefined ? undefined : a.item[sortName], sortName === undefined ? undefined : b.item[sortName]));
    const start = request.ExclusiveStartKey as WireItem | undefined;
    if (start !== undefined && sortName !== undefined) found = found.filter((stored) => (forward ? 1 : -1) * compareSort(stored.item[sortName], start[sortName]) > 0);
    const limit = typeof request.Limit === 'number' ? request.Limit : Number.POSITIVE_INFINITY;
    const page: Stored[] = [];
    let bytes = 0;
    for (const stored of found) {
      if (page.length >= limit || (page.length > 0 && bytes + itemBytes(stored.item) > PAGE_BYTES)) break;
      bytes += itemBytes(stored.item);
      page.push(stored);
    }
    const last = page.at(-1);
    const more = last !== undefined && page.length < found.length;
    const projection = projectedNames(request);
    return ok(`{"Items":[${page.map((stored) => jsonOf(stored, projection)).join(',')}],"Count":${page.length},"ScannedCount":${page.length}${more ? `,"LastEvaluatedKey":${this.keyJson(table, last.item)}` : ''}}`);
  }

  private scan(table: Table, request: Request): Answer {
    if (request.FilterExpression !== undefined) return dynamoError('ValidationException', 'the fake endpoint does not evaluate filter expressions');
    const segments = typeof request.TotalSegments === 'number' ? request.TotalSegments : 1;
    const segment = typeof request.Segment === 'number' ? request.Segment : 0;
    const start = request.ExclusiveStartKey === undefined ? undefined : this.keyJson(table, request.ExclusiveStartKey as WireItem);
    let prepared = table.scans.get(`${segments}/${segment}`);
    if (prepared === undefined) {
      // Unprepared: the table's own items of the segment, cut afresh (tests and small tables).
      const items = [...this.items(this.nameOf(table))].filter((item) => segmentOf(scalar(item[table.key.partition]), segments) === segment);
      prepared = cutPages(items, (item) => this.keyJson(table, item));
    }
    const index = start === undefined ? 0 : prepared.next.get(start);
    const page = index === undefined ? undefined : prepared.pages[index];
    if (page === undefined) return dynamoError('ValidationException', 'The provided starting key is invalid');
    return { status: 200, body: page };
  }

  private nameOf(table: Table): string {
    for (const [name, candidate] of this.tables) if (candidate === table) return name;
    throw new RangeError('a table without a name');
  }
}

function ok(body: string): Answer {
  return { status: 200, body };
}

/**
 * How DynamoDB cuts a Scan or Query into pages: items in order until the next would take the page
 * past {@link PAGE_BYTES} (by DynamoDB's size rule). @returns each page's item count and bytes.
 */
export function pageCuts(sizes: readonly number[]): { readonly items: number; readonly bytes: number }[] {
  const pages: { items: number; bytes: number }[] = [];
  let page = { items: 0, bytes: 0 };
  for (const size of sizes) {
    if (page.items > 0 && page.bytes + size > PAGE_BYTES) {
      pages.push(page);
      page = { items: 0, bytes: 0 };
    }
    page.items += 1;
    page.bytes += size;
  }
  pages.push(page);
  return pages;
}

/** Items cut into Scan pages ({@link pageCuts}), each a ready response body. */
function cutPages(items: readonly WireItem[], keyJson: (item: WireItem) => string): PreparedScan {
  const pages: Buffer[] = [];
  const next = new Map<string, number>();
  let start = 0;
  const cuts = pageCuts(items.map(itemBytes));
  cuts.forEach(({ items: count }, index) => {
    const page = items.slice(start, start + count);
    start += count;
    const last = page.at(-1);
    const key = index < cuts.length - 1 && last !== undefined ? keyJson(last) : undefined;
    if (key !== undefined) next.set(key, index + 1);
    pages.push(Buffer.from(`{"Items":[${page.map((item) => JSON.stringify(item)).join(',')}],"Count":${page.length},"ScannedCount":${page.length}${key === undefined ? '' : `,"LastEvaluatedKey":${key}`}}`));
  });
  return { pages, next };
}
