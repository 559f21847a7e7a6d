/**
 * A model of producers that retry with idempotency keys: the real ingest use case against the
 * in-memory log, while fast-check picks the requests (some big enough to be cut by size), which
 * of them are delivered twice at once, and where the process crashes — before or after any call
 * to the log, the append included. A producer retries a failed request with the same key until it
 * completes, as the README asks of producers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstChainBreak, GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { ChunkCommittedError, IdempotencyConflictError, ValidationError } from '#shared/domain/errors.ts';
import { MAX_ENTRIES_PER_APPEND } from '#shared/domain/ports.ts';
import type { JsonValue, NewUpdate } from '#shared/domain/types.ts';
import { appendUpdates, type AppendResult, type AppendUpdatesDeps } from '#shared/usecases/append-updates.ts';
import { FaultPlan, InjectedCrash, InMemoryLog, withLatency, type CrashRule } from '#test/support/in-memory.ts';
import { seededRandom } from '#local/random.ts';

const STREAM = 'main';
const NOW = new Date('2026-11-27T10:00:00Z');
const KiB = 1024;
const LOG_CALLS = ['ingest.log.readMarkers', 'ingest.log.readHead', 'ingest.log.append'] as const;
/** A producer gives up after this many attempts; every crash rule strikes once, so none needs it. */
const MAX_PRODUCER_ATTEMPTS = 100;
/** A copy of a request may wait up to this many promise turns before each call to the log. */
const LATENCY_TURNS = 6;

interface IngestScenario {
  readonly requests: readonly (readonly NewUpdate[])[];
  /** Requests (by index) delivered twice, the copies running at the same time. */
  readonly duplicated: readonly boolean[];
  readonly crashes: readonly CrashRule[];
  readonly seed: number;
}

const smallUpdateArb: fc.Arbitrary<NewUpdate> = fc.oneof(
  { arbitrary: fc.record({ key: fc.constantFrom('a', 'b', 'c'), op: fc.constant('put' as const), value: fc.oneof(fc.integer(), fc.string({ maxLength: 6 })) }), weight: 3 },
  { arbitrary: fc.record({ key: fc.constantFrom('a', 'b', 'c'), op: fc.constant('delete' as const) }), weight: 1 },
);

/**
 * Up to 220 small updates (up to three chunks by count); one request in five also carries 13–14
 * blobs of 300–390 KiB (3.8–5.3 MiB: mostly more than one transaction's 4 MiB). Blobs are few
 * because they are slow.
 */
const requestArb: fc.Arbitrary<NewUpdate[]> = fc
  .record({
    small: fc.array(smallUpdateArb, { maxLength: 220, size: 'max' }),
    blobs: fc.oneof(
      { arbitrary: fc.constant<number[]>([]), weight: 4 },
      { arbitrary: fc.array(fc.integer({ min: 300, max: 390 }), { minLength: 13, maxLength: 14 }), weight: 1 },
    ),
    at: fc.nat(),
  })
  .map(({ small, blobs, at }) => {
    const cut = small.length === 0 ? 0 : at % (small.length + 1);
    const big = blobs.map((kib, index): NewUpdate => ({ key: `blob-${index}`, op: 'put', value: 'b'.repeat(kib * KiB) }));
    return [...small.slice(0, cut), ...big, ...small.slice(cut)];
  })
  .filter((updates) => updates.length > 0);

const scenarioArb: fc.Arbitrary<IngestScenario> = fc
  .array(requestArb, { minLength: 1, maxLength: 4 })
  .chain((requests) =>
    fc.record({
      requests: fc.constant(requests),
      duplicated: fc.array(fc.boolean(), { minLength: requests.length, maxLength: requests.length }),
      crashes: fc.array(fc.record({ call: fc.constantFrom(...LOG_CALLS), nth: fc.integer({ min: 1, max: 12 }), when: fc.constantFrom('before' as const, 'after' as const) }), {
        maxLength: 6,
      }),
      seed: fc.integer(),
    }),
  );

/** Counts across all runs, so the test can show its faults and races really happened. */
interface Tally {
  crashesBeforeAppend: number;
  crashesAfterAppend: number;
  otherCrashes: number;
  /** A copy found the chunk it was about to append already committed by the other copy. */
  chunksCommittedByTheOther: number;
  /** A retry found some, not all, of its request's chunks committed, and resumed after them. */
  resumedRetries: number;
  /** Requests cut into more than one chunk. */
  multiChunkRequests: number;
  /** Chunks cut short by size: fewer updates than the count allows, and not the request's last. */
  sizeCuts: number;
}

/** `log` with every ChunkCommittedError its appends raise counted. */
function countingChunkCommitted(log: InMemoryLog, tally: Tally): InMemoryLog {
  return new Proxy(log, {
    get(target, property, receiver): unknown {
      if (property !== 'append') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<InMemoryLog['append']>): Promise<void> => {
        try {
          await target.append(...args);
        } catch (error) {
          if (error instanceof ChunkCommittedError) tally.chunksCommittedByTheOther += 1;
          throw error;
        }
      };
    },
  });
}

/** Sends `updates` with `key` until an attempt completes; only a rejected request stops it. */
async function produce(updates: readonly NewUpdate[], key: string, deps: AppendUpdatesDeps, log: InMemoryLog, tally: Tally): Promise<AppendResult> {
  for (let attempt = 1; ; attempt += 1) {
    const committedBefore = (await log.readMarkers(STREAM, key)).length;
    try {
      const result = await appendUpdates({ updates, idempotencyKey: key }, deps);
      if (committedBefore > 0 && committedBefore < result.transactions) tally.resumedRetries += 1;
      return result;
    } catch (error) {
      if (error instanceof ValidationError || error instanceof IdempotencyConflictError || attempt >= MAX_PRODUCER_ATTEMPTS) throw error;
      if (error instanceof InjectedCrash) {
        const { call, when } = error.rule;
        if (call === 'ingest.log.append') tally[when === 'before' ? 'crashesBeforeAppend' : 'crashesAfterAppend'] += 1;
        else tally.otherCrashes += 1;
      }
    }
  }
}

function asUpdate(entry: NewUpdate): NewUpdate {
  return { key: entry.key, op: entry.op, ...(entry.value === undefined ? {} : { value: entry.value }) };
}

describe('the ingest model', () => {
  it('appends every request exactly once and in order, whatever crashes and duplicates strike, and answers every retry alike', async () => {
    const tally: Tally = { crashesBeforeAppend: 0, crashesAfterAppend: 0, otherCrashes: 0, chunksCommittedByTheOther: 0, resumedRetries: 0, multiChunkRequests: 0, sizeCuts: 0 };
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ requests, duplicated, crashes, seed }) => {
        // Prepare
        const log = new InMemoryLog();
        const plan = new FaultPlan(crashes);
        const random = seededRandom(seed);
        const deps: AppendUpdatesDeps = {
          stream: STREAM,
          log: withLatency(plan.wrap('ingest.log', countingChunkCommitted(log, tally)), () => Math.floor(random() * LATENCY_TURNS)),
          now: () => NOW,
          sleep: async () => {},
          random,
        };
        const keys = requests.map((_, index) => `producer-${index}/request-1`);

        // Act: every request and its duplicate at once; then each is sent once more, long after.
        const copies = requests.flatMap((updates, index) => {
          const key = keys[index] ?? '';
          const sends = [produce(updates, key, deps, log, tally)];
          if (duplicated[index] === true) sends.push(produce(updates, key, deps, log, tally));
          return sends.map(async (send) => ({ index, result: await send }));
        });
        const completed = await Promise.all(copies);
        const headAfter = await log.readHead(STREAM);
        plan.disarm();
        const late = await Promise.all(requests.map((updates, index) => appendUpdates({ updates, idempotencyKey: keys[index] }, deps)));
        const conflicting = appendUpdates({ updates: [{ key: 'other', op: 'delete' }], idempotencyKey: keys[0] }, deps);

        // Assess: the log is whole and chained, and holds nothing but the requests.
        const head = await log.readHead(STREAM);
        const entries = await log.readRange(STREAM, 0, head.head);
        expect(head).toEqual(headAfter);
        expect(entries.map((entry) => entry.seq)).toEqual(Array.from({ length: head.head }, (_, index) => index + 1));
        expect(firstChainBreak(0, GENESIS_CHAIN, entries)).toBeUndefined();
        expect(head.head).toBe(requests.reduce((sum, updates) => sum + updates.length, 0));
        await expect(conflicting).rejects.toThrow(IdempotencyConflictError);

        // Each request's updates sit, in its order, in the seqs its result names, and every answer
        // to it — the first, its duplicate's, the late retry's — is the same but for what that call
        // appended itself: no update is counted as appended by two calls, and the late retry
        // replays them all.
        const seqsTaken = new Set<number>();
        const seqsOf = (result: AppendResult): AppendResult => ({ ...result, appended: 0, replayed: 0 });
        for (const [index, updates] of requests.entries()) {
          const lateResult = late[index];
          if (lateResult === undefined) throw new Error(`request ${index} has no late result`);
          const results = [...completed.filter((copy) => copy.index === index).map((copy) => copy.result), lateResult];
          const [first] = results;
          if (first === undefined) throw new Error(`request ${index} has no result`);
          for (const result of results) expect(seqsOf(result)).toEqual(seqsOf(first));
          for (const result of results) expect(result.appended + result.replayed).toBe(updates.length);
          expect(results.reduce((sum, result) => sum + result.appended, 0)).toBeLessThanOrEqual(updates.length);
          expect(lateResult).toMatchObject({ appended: 0, replayed: updates.length });
          const seqs = first.seqRanges.flatMap(({ firstSeq, lastSeq }) => Array.from({ length: lastSeq - firstSeq + 1 }, (_, offset) => firstSeq + offset));
          expect(seqs.map((seq) => asUpdate(entries[seq - 1] as NewUpdate))).toEqual(JSON.parse(JSON.stringify(updates)) as JsonValue);
          for (const seq of seqs) {
            expect(seqsTaken.has(seq), `seq ${seq} claimed twice`).toBe(false);
            seqsTaken.add(seq);
          }
          if (first.transactions > 1) tally.multiChunkRequests += 1;
          tally.sizeCuts += first.seqRanges.slice(0, -1).filter(({ firstSeq, lastSeq }) => lastSeq - firstSeq + 1 < MAX_ENTRIES_PER_APPEND - 1).length;
        }
      }),
      { numRuns: 50 },
    );
    // The faults and races did their work: each struck in some run.
    for (const [what, count] of Object.entries(tally)) expect(count, what).toBeGreaterThan(0);
  });
});
