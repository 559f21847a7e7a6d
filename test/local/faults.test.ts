/**
 * The `--faults` parser and formatter, read from the one fault catalogue: every kind of FAULTS is
 * spelled, parsed and counted the same way.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '#local/errors.ts';
import { FAULTS, formatFaults, NO_FAULTS, parseFaults } from '#local/faults.ts';
import { noFaults, totalFaults } from '#local/summary.ts';

describe('the fault catalogue', () => {
  it('parses every kind by its flag and formats the settings back to the same text', () => {
    // Prepare
    const text = FAULTS.map(({ flag }, index) => `${flag}=${(index + 1) / 10}`).join(',');

    // Act
    const settings = parseFaults(text);

    // Assess
    for (const [index, { kind }] of FAULTS.entries()) expect(settings[kind], kind).toBe((index + 1) / 10);
    expect(formatFaults(settings)).toBe(text);
  });

  it('gives no fault for an empty value or none, and formats no fault as an empty string', () => {
    expect(parseFaults('')).toEqual(NO_FAULTS);
    expect(parseFaults(' none ')).toEqual(NO_FAULTS);
    expect(formatFaults(NO_FAULTS)).toBe('');
  });

  it('takes a kind named without a probability as always only where the catalogue allows it', () => {
    for (const { flag, kind, bareMeansAlways } of FAULTS) {
      if (bareMeansAlways) expect(parseFaults(flag)[kind]).toBe(1);
      else expect(() => parseFaults(flag)).toThrow(new UsageError(`--faults: ${flag} needs a probability, as in ${flag}=0.1`));
    }
  });

  it('names the known kinds when a kind is unknown, and refuses a probability outside [0, 1]', () => {
    expect(() => parseFaults('meteor=0.1')).toThrow(`(known: ${FAULTS.map(({ flag }) => flag).join(', ')})`);
    expect(() => parseFaults('crash=1.5')).toThrow(UsageError);
    expect(() => parseFaults('crash=')).toThrow(UsageError);
    expect(() => parseFaults('crash=0.1=0.2')).toThrow(UsageError);
  });

  it('counts every kind from zero and adds the counts of the intervals up per kind', () => {
    // Prepare
    const one = { faults: { ...noFaults(), crash: 2, lose: 1 } };
    const two = { faults: { ...noFaults(), crash: 1, plannerDuplicate: 3 } };

    // Act
    const total = totalFaults([one, two]);

    // Assess
    expect(Object.keys(noFaults())).toEqual(FAULTS.map(({ kind }) => kind));
    expect(total).toEqual({ ...noFaults(), crash: 3, lose: 1, plannerDuplicate: 3 });
  });
});
