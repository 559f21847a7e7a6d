import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors.ts';
import { parseScheduledEvent } from '#shared/domain/scheduled-event.ts';

const TICK = '2026-11-27T10:18:00Z';

function issuesOf(event: unknown): readonly string[] {
  try {
    parseScheduledEvent(event);
  } catch (error) {
    if (error instanceof ValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('parseScheduledEvent', () => {
  it('reads the classic EventBridge rule payload by its time', () => {
    expect(parseScheduledEvent({ version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', time: TICK, detail: {} })).toEqual({
      scheduledTime: new Date(TICK),
      shape: 'classic',
    });
  });

  it('reads the Scheduler payload the stack configures, its attempt as a number or as a string', () => {
    for (const attempt of [1, '2', undefined]) {
      expect(parseScheduledEvent({ scheduledTime: TICK, executionId: 'e-1', attempt })).toEqual({ scheduledTime: new Date(TICK), shape: 'scheduler' });
    }
  });

  it('accepts times with an offset, fractions of a second, or no seconds, as EventBridge and ISO 8601 allow', () => {
    expect(parseScheduledEvent({ scheduledTime: '2026-11-27T11:18:00+01:00' }).scheduledTime).toEqual(new Date(TICK));
    expect(parseScheduledEvent({ scheduledTime: '2026-11-27T10:18:00.000Z' }).scheduledTime).toEqual(new Date(TICK));
    expect(parseScheduledEvent({ scheduledTime: '2026-11-27T10:18Z' }).scheduledTime).toEqual(new Date(TICK));
  });

  it('names, for each shape, the fields that do not fit', () => {
    expect(issuesOf({})).toEqual([
      '(root): matches none of the accepted shapes: { detail-type: must be "Scheduled Event", time: is missing } or { scheduledTime: is missing }',
    ]);
    expect(issuesOf({ scheduledTime: 'yesterday', attempt: 1.5 })[0]).toMatch(/scheduledTime: must be an ISO 8601 date and time.*attempt: must be a whole number or a string/);
  });

  it.each([
    ['a time without an offset', { scheduledTime: '2026-11-27T10:18:00' }],
    ['a date that does not exist', { scheduledTime: '2026-02-30T10:18:00Z' }],
    ['a time that is a number', { scheduledTime: 1_795_774_680 }],
    ['an executionId that is not a string', { scheduledTime: TICK, executionId: 7 }],
    ['a classic event of another detail-type', { 'detail-type': 'Object Created', time: TICK }],
  ])('rejects %s', (_what, event) => {
    expect(() => parseScheduledEvent(event)).toThrow(ValidationError);
  });

  it.each([
    ['null', null],
    ['a string', 'Scheduled Event'],
    ['an array', [TICK]],
  ])('rejects %s at the root', (what, event) => {
    expect(issuesOf(event)).toEqual([`(root): must be an object (got ${what === 'a string' ? 'string' : what === 'an array' ? 'an array' : 'null'})`]);
  });
});
