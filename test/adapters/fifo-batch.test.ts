import { FullBatchFailureError, processPartialResponse, SqsFifoMessageGroupShortCircuitError, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { processFifoBatch } from '#shared/adapters/sqs/fifo-batch.ts';
import { sqsRecord } from '#test/support/lambda.ts';

/** A record of message group `groupId` (none when undefined); its id is its body, e.g. `a1`. */
function record(messageId: string, groupId: string | undefined): SQSRecord {
  const made = sqsRecord({ messageId, groupId: groupId ?? '', body: messageId });
  if (groupId === undefined) delete made.attributes.MessageGroupId;
  return made;
}

/** Lets every promise callback that can run run: whatever is still pending then waits on a test's latch. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A record handler whose records finish when the test says: `release(id)` resolves one, `fail(id, error)`
 * rejects it; `events` tells when each started and ended.
 */
function latchedHandler(): {
  handle: (record: SQSRecord) => Promise<void>;
  release: (id: string) => void;
  fail: (id: string, error: Error) => void;
  events: string[];
} {
  const latches = new Map<string, PromiseWithResolvers<undefined>>();
  const latch = (id: string): PromiseWithResolvers<undefined> => {
    const existing = latches.get(id);
    if (existing !== undefined) return existing;
    const created = Promise.withResolvers<undefined>();
    latches.set(id, created);
    return created;
  };
  const events: string[] = [];
  return {
    events,
    release: (id) => {
      latch(id).resolve(undefined);
    },
    fail: (id, error) => {
      latch(id).reject(error);
    },
    handle: async (record) => {
      events.push(`start ${record.messageId}`);
      try {
        await latch(record.messageId).promise;
      } finally {
        events.push(`end ${record.messageId}`);
      }
    },
  };
}

/** A record handler that fails the records named in `failing` at once and succeeds the others; `handled` lists every record it was given. */
function failingHandler(failing: Readonly<Record<string, Error>>): { handle: (record: SQSRecord) => Promise<void>; handled: string[] } {
  const handled: string[] = [];
  return {
    handled,
    handle: (record) => {
      handled.push(record.messageId);
      const error = failing[record.messageId];
      return error === undefined ? Promise.resolve() : Promise.reject(error);
    },
  };
}

const failures = (...ids: string[]): { batchItemFailures: { itemIdentifier: string }[] } => ({ batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })) });

describe('processFifoBatch', () => {
  it("finishes another group's records while one group's first record is still pending", async () => {
    // Prepare
    const { handle, release, events } = latchedHandler();
    release('b1');
    release('b2');

    // Act
    const processing = processFifoBatch([record('a1', 'A'), record('b1', 'B'), record('b2', 'B')], handle);
    await settle();

    // Assess: a1 has started and not ended, and group B is done all the same.
    expect(events).toEqual(['start a1', 'start b1', 'end b1', 'start b2', 'end b2']);
    release('a1');
    await expect(processing).resolves.toEqual(failures());
    expect(events.at(-1)).toBe('end a1');
  });

  it("starts a group's next record only once the one before it has ended, however long it takes", async () => {
    // Prepare
    const { handle, release, events } = latchedHandler();
    release('a2');
    release('a3');

    // Act
    const processing = processFifoBatch([record('a1', 'A'), record('a2', 'A'), record('a3', 'A')], handle);
    await settle();
    const whileFirstPending = [...events];
    release('a1');
    const response = await processing;

    // Assess
    expect(whileFirstPending).toEqual(['start a1']);
    expect(events).toEqual(['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
    expect(response).toEqual(failures());
  });

  it('reports a failed record and skips the rest of its group unprocessed, while other groups go on', async () => {
    // Prepare
    const { handle, handled } = failingHandler({ a2: new Error('a2 broke') });

    // Act
    const response = await processFifoBatch([record('a1', 'A'), record('b1', 'B'), record('a2', 'A'), record('b2', 'B'), record('a3', 'A')], handle);

    // Assess
    expect(response).toEqual(failures('a2', 'a3'));
    expect(handled).not.toContain('a3');
    expect(handled).toEqual(expect.arrayContaining(['a1', 'a2', 'b1', 'b2']));
  });

  it('lists the failures in batch order, whichever group fails first', async () => {
    // Prepare: group B's first record fails only after group A's has.
    const { handle, release, fail } = latchedHandler();
    release('c1');

    // Act
    const processing = processFifoBatch([record('b1', 'B'), record('a1', 'A'), record('b2', 'B'), record('c1', 'C'), record('a2', 'A')], handle);
    fail('a1', new Error('a1 broke'));
    await settle();
    fail('b1', new Error('b1 broke'));

    // Assess
    await expect(processing).resolves.toEqual(failures('b1', 'a1', 'b2', 'a2'));
  });

  it('throws FullBatchFailureError when no record succeeded, with each record’s error in batch order', async () => {
    // Prepare
    const a1 = new Error('a1 broke');
    const b1 = new Error('b1 broke');
    const { handle } = failingHandler({ a1, b1 });

    // Act
    const processing = processFifoBatch([record('a1', 'A'), record('b1', 'B'), record('a2', 'A')], handle);

    // Assess
    const error: unknown = await processing.catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(FullBatchFailureError);
    const { recordErrors } = error as FullBatchFailureError;
    expect(recordErrors.slice(0, 2)).toEqual([a1, b1]);
    expect(recordErrors[2]).toBeInstanceOf(SqsFifoMessageGroupShortCircuitError);
    expect(recordErrors).toHaveLength(3);
  });

  it('counts a handler that throws something other than an Error as a failed record, keeping what it threw', async () => {
    // Prepare
    const handle = (item: SQSRecord): Promise<void> => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what a careless record handler may do
      throw `${item.messageId} gave up`;
    };

    // Act
    const processing = processFifoBatch([record('a1', 'A')], handle);

    // Assess
    const error: unknown = await processing.catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(FullBatchFailureError);
    expect((error as FullBatchFailureError).recordErrors).toEqual([new Error('a1 gave up')]);
    expect((error as FullBatchFailureError).recordErrors[0]?.cause).toBe('a1 gave up');
  });

  it('treats each record without a MessageGroupId as a group of its own: its failure skips no other record', async () => {
    // Prepare
    const { handle, handled } = failingHandler({ x1: new Error('x1 broke'), y1: new Error('y1 broke') });

    // Act
    const response = await processFifoBatch([record('x1', undefined), record('x2', undefined), record('y1', ''), record('y2', ''), record('a1', 'A')], handle);

    // Assess
    expect(response).toEqual(failures('x1', 'y1'));
    expect([...handled].sort()).toEqual(['a1', 'x1', 'x2', 'y1', 'y2']);
  });

  it('answers an empty batch with no failures', async () => {
    // Act
    const response = await processFifoBatch([], () => Promise.resolve());

    // Assess
    expect(response).toEqual(failures());
  });

  it('keeps at most `concurrency` groups in progress, starting the next group as one ends', async () => {
    // Prepare
    const { handle, release, events } = latchedHandler();

    // Act
    const processing = processFifoBatch([record('a1', 'A'), record('b1', 'B'), record('c1', 'C')], handle, { concurrency: 2 });
    await settle();
    const whileTwoPending = [...events];
    release('b1');
    await settle();
    const afterOneEnded = [...events];
    release('a1');
    release('c1');
    const response = await processing;

    // Assess
    expect(whileTwoPending).toEqual(['start a1', 'start b1']);
    expect(afterOneEnded).toEqual(['start a1', 'start b1', 'end b1', 'start c1']);
    expect(response).toEqual(failures());
  });

  it('refuses a concurrency below 1, naming the option', async () => {
    // Act
    const processing = processFifoBatch([record('a1', 'A')], () => Promise.resolve(), { concurrency: 0 });

    // Assess
    await expect(processing).rejects.toThrow(/concurrency must be an integer ≥ 1, got 0/);
  });

  it("answers every batch as Powertools' FIFO processor with skipGroupOnError does: the same failures, or the same errors thrown", async () => {
    const recordArb = fc.record({ groupId: fc.constantFrom('A', 'B', 'C', '', undefined), fails: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb, { maxLength: 10 }), async (specs) => {
        const records = specs.map((spec, index) => record(`m${index}`, spec.groupId));
        const failing = new Set(records.filter((_, index) => specs[index]?.fails).map((item) => item.messageId));
        const handle = async (item: SQSRecord): Promise<void> => {
          await Promise.resolve();
          if (failing.has(item.messageId)) throw new Error(`${item.messageId} broke`);
        };
        const outcome = (processing: Promise<unknown>): Promise<unknown> =>
          processing.catch((error: unknown) => ({ thrown: error instanceof FullBatchFailureError ? error.recordErrors.map(({ name, message }) => `${name}: ${message}`) : error }));

        const ours = await outcome(processFifoBatch(records, handle));
        const theirs = await outcome(processPartialResponse({ Records: records }, handle, new SqsFifoPartialProcessorAsync(), { skipGroupOnError: true }));

        expect(ours).toEqual(theirs);
      }),
      { numRuns: 500 },
    );
  });
});
