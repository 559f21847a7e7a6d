/**
 * `microbatch ingest`: a JSON Lines file of updates appended through the ingest function. Every line
 * is checked before anything is sent (one bad line and nothing is appended); the updates are then
 * cut into requests the function takes whole, each with an idempotency key derived from the file's
 * content and the request's position, so a re-run after any failure resumes where the last run
 * stopped: the function's IngestRequests markers skip what already committed (DESIGN §4).
 */
import { createHash } from 'node:crypto';
import { planChunks, logEntryBound } from '#shared/domain/ingest.ts';
import { MAX_ITEM_BYTES } from '#shared/domain/item-size.ts';
import type { IngestRequestReader } from '#shared/domain/ports.ts';
import { MAX_UPDATES_PER_REQUEST, newUpdateSchema, parseOrThrow, type IngestRequest } from '#shared/domain/schemas.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import type { AppendResult } from '#shared/usecases/append-updates.ts';
import { ValidationError } from '#shared/domain/errors.ts';
import { UsageError } from '#local/errors.ts';

/** Bad lines quoted in the error; the rest are counted. */
const MAX_REPORTED_LINES = 10;
/**
 * The most bytes of JSON one request may take: Lambda's synchronous invocation payload limit is
 * 6 MB (6,291,456 bytes); 64 KiB stay free for the envelope and the key.
 */
export const MAX_REQUEST_PAYLOAD_BYTES = 6 * 1024 * 1024 - 64 * 1024;

/** Why one line of the file cannot be ingested. */
export interface BadLine {
  readonly line: number;
  readonly reason: string;
}

/**
 * The updates of a JSON Lines text, every line checked by the ingest function's own rules (schema,
 * ops, and the stored item's size); blank lines are skipped.
 * @throws UsageError naming the first bad lines by number and reason.
 */
export function parseUpdateLines(text: string, source: string): NewUpdate[] {
  const updates: NewUpdate[] = [];
  const bad: BadLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '') return;
    const problem = lineProblem(trimmed);
    if (typeof problem === 'string') bad.push({ line, reason: problem });
    else updates.push(problem);
  });
  if (bad.length > 0) {
    const shown = bad.slice(0, MAX_REPORTED_LINES).map(({ line, reason }) => `  line ${line}: ${reason}`);
    const more = bad.length > MAX_REPORTED_LINES ? [`  … and ${bad.length - MAX_REPORTED_LINES} more`] : [];
    throw new UsageError([`${source}: ${bad.length} bad line${bad.length === 1 ? '' : 's'}, nothing was appended:`, ...shown, ...more].join('\n'));
  }
  if (updates.length === 0) throw new UsageError(`${source} holds no updates: one JSON object { key, op, value? } per line`);
  return updates;
}

/** The update on a line, or why it is not one. */
function lineProblem(text: string): NewUpdate | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  try {
    const update = parseOrThrow(newUpdateSchema, json, 'update');
    const bytes = logEntryBound(update);
    if (bytes > MAX_ITEM_BYTES) return `stored, it would take up to ${bytes} bytes, over DynamoDB's item limit of ${MAX_ITEM_BYTES}`;
    return update;
  } catch (error) {
    if (error instanceof ValidationError) return error.issues.join('; ');
    throw error;
  }
}

/** The first 16 hex digits of the sha256 of the file's bytes: the stem of every request's key. */
export function contentKey(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

/** The key of request `index` of a file: the same for every run of the same file. */
export function requestKey(stem: string, index: number): string {
  return `${stem}-c${index}`;
}

/**
 * Cuts `updates` into requests the ingest function takes: at most MAX_UPDATES_PER_REQUEST updates
 * and MAX_REQUEST_PAYLOAD_BYTES of JSON each, in file order, keyed `<stem>-c<index>`. The cut
 * depends on the updates alone, so a re-run cuts (and keys) the same requests.
 */
export function planRequests(updates: readonly NewUpdate[], stem: string): IngestRequest[] {
  const requests: IngestRequest[] = [];
  let current: NewUpdate[] = [];
  // `{"updates":[` … `],"idempotencyKey":"…"}` is inside the headroom of MAX_REQUEST_PAYLOAD_BYTES.
  let bytes = 0;
  const close = (): void => {
    requests.push({ updates: current, idempotencyKey: requestKey(stem, requests.length) });
    current = [];
    bytes = 0;
  };
  for (const update of updates) {
    const updateBytes = Buffer.byteLength(JSON.stringify(update), 'utf8') + 1;
    if (current.length === MAX_UPDATES_PER_REQUEST || (current.length > 0 && bytes + updateBytes > MAX_REQUEST_PAYLOAD_BYTES)) close();
    current.push(update);
    bytes += updateBytes;
  }
  if (current.length > 0) close();
  return requests;
}

/** What `ingest --dry-run` reports: the file checked and cut, nothing sent. */
export interface IngestDryRun {
  readonly file: string;
  readonly dryRun: true;
  readonly updates: number;
  /** The file's size. */
  readonly fileBytes: number;
  /** The requests a real run sends, in order: each one's key, updates and JSON payload size. */
  readonly requests: readonly { readonly idempotencyKey: string; readonly updates: number; readonly payloadBytes: number }[];
  /** All the requests' payloads together. */
  readonly payloadBytes: number;
}

/** The report of a dry run over `requests` (as {@link planRequests} cut them). */
export function dryRunIngest(file: string, fileBytes: number, requests: readonly IngestRequest[]): IngestDryRun {
  const described = requests.map((request) => ({
    idempotencyKey: request.idempotencyKey ?? '',
    updates: request.updates.length,
    payloadBytes: Buffer.byteLength(JSON.stringify(request), 'utf8'),
  }));
  return {
    file,
    dryRun: true,
    updates: described.reduce((sum, request) => sum + request.updates, 0),
    fileBytes,
    requests: described,
    payloadBytes: described.reduce((sum, request) => sum + request.payloadBytes, 0),
  };
}

export interface IngestDeps {
  /** Sends one request to the ingest function and returns its result. */
  readonly invoke: (request: IngestRequest) => Promise<AppendResult>;
  /** Where the function records what each request committed: read to tell a replay from new work. */
  readonly markers: IngestRequestReader;
  readonly stream: string;
  readonly now?: () => Date;
  /** Called after each request with the number of updates it carried. */
  readonly onRequest?: (updates: number, index: number) => void;
}

export interface IngestSummary {
  /** Updates in the file. */
  readonly updates: number;
  /** Updates this run appended (the rest an earlier run had). */
  readonly appended: number;
  /** The seqs the file's updates hold, merged where consecutive. */
  readonly seqRanges: readonly { readonly firstSeq: number; readonly lastSeq: number }[];
  readonly head: number;
  /** Requests sent (the file's chunks). */
  readonly chunks: number;
  /** Chunks an earlier run had committed whole: the function only answered again. */
  readonly replayedChunks: number;
  /** Chunks an earlier run had committed in part: this run appended the rest. */
  readonly resumedChunks: number;
  readonly idempotencyKeys: readonly string[];
}

/** Sends every request in order; a failure stops the run, and a re-run resumes it. */
export async function ingestRequests(requests: readonly IngestRequest[], deps: IngestDeps): Promise<IngestSummary> {
  const now = deps.now ?? (() => new Date());
  const seqRanges: { firstSeq: number; lastSeq: number }[] = [];
  let appended = 0;
  let replayedChunks = 0;
  let resumedChunks = 0;
  let head = 0;
  for (const [index, request] of requests.entries()) {
    const before = await committedBefore(request, deps.markers, deps.stream, now());
    const result = await deps.invoke(request);
    appended += request.updates.length - before.updates;
    if (before.transactions === before.of) replayedChunks += 1;
    else if (before.transactions > 0) resumedChunks += 1;
    for (const range of result.seqRanges) {
      const last = seqRanges.at(-1);
      if (last !== undefined && last.lastSeq + 1 === range.firstSeq) last.lastSeq = range.lastSeq;
      else seqRanges.push({ ...range });
    }
    head = result.head;
    deps.onRequest?.(request.updates.length, index);
  }
  return {
    updates: requests.reduce((sum, request) => sum + request.updates.length, 0),
    appended,
    seqRanges,
    head,
    chunks: requests.length,
    replayedChunks,
    resumedChunks,
    idempotencyKeys: requests.map((request) => request.idempotencyKey ?? ''),
  };
}

/** What earlier attempts at `request` committed: live markers, their updates, of how many transactions. */
async function committedBefore(
  request: IngestRequest,
  markers: IngestRequestReader,
  stream: string,
  now: Date,
): Promise<{ readonly transactions: number; readonly updates: number; readonly of: number }> {
  const of = planChunks(request.updates, { marked: true }).length;
  if (request.idempotencyKey === undefined) return { transactions: 0, updates: 0, of };
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const live = (await markers.readMarkers(stream, request.idempotencyKey)).filter((marker) => marker.expiresAt > nowSeconds);
  return { transactions: live.length, updates: live.reduce((sum, marker) => sum + marker.lastSeq - marker.firstSeq + 1, 0), of };
}
