import { describe, expect, it } from 'vitest';
import { parseRatesFile, parseRatesList } from '#cli/advise/rates.ts';
import { UsageError } from '#local/errors.ts';

describe('parseRatesList', () => {
  it('names rates by position', () => {
    expect(parseRatesList('2, 5,10.5')).toEqual([
      { nodeId: 'node-1', rate: 2 },
      { nodeId: 'node-2', rate: 5 },
      { nodeId: 'node-3', rate: 10.5 },
    ]);
  });

  it.each([
    ['2,-5', /^--rates, the 2nd value: a rate must be a positive number of updates per second \(got "-5"\)$/],
    ['2,0', /^--rates, the 2nd value: .*\(got "0"\)$/],
    ['2,,3', /^--rates, the 2nd value: .*\(got ""\)$/],
    ['abc', /^--rates, the 1st value: .*\(got "abc"\)$/],
    ['1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,x', /^--rates, the 21st value: .*\(got "x"\)$/],
    ['1,2,3,4,5,6,7,8,9,10,11,x', /^--rates, the 12th value: /],
    ['', /give at least one rate/],
  ])('refuses %j, naming the value by its place in the list', (text, message) => {
    expect(() => parseRatesList(text)).toThrow(UsageError);
    expect(() => parseRatesList(text)).toThrow(message);
  });
});

describe('parseRatesFile', () => {
  it('reads a JSON array of rates, of { nodeId, rate }, or an object of nodeId → rate', () => {
    expect(parseRatesFile('[2, 5]', 'r.json')).toEqual([
      { nodeId: 'node-1', rate: 2 },
      { nodeId: 'node-2', rate: 5 },
    ]);
    expect(parseRatesFile('[{"nodeId":"a","rate":2},{"rate":3}]', 'r.json')).toEqual([
      { nodeId: 'a', rate: 2 },
      { nodeId: 'node-2', rate: 3 },
    ]);
    expect(parseRatesFile('{"a": 2, "b": 7}', 'r.json')).toEqual([
      { nodeId: 'a', rate: 2 },
      { nodeId: 'b', rate: 7 },
    ]);
  });

  it('reads CSV with a header, and one rate per line with comments', () => {
    expect(parseRatesFile('nodeId,rate\nn-1,2\nn-2, 5\n', 'r.csv')).toEqual([
      { nodeId: 'n-1', rate: 2 },
      { nodeId: 'n-2', rate: 5 },
    ]);
    expect(parseRatesFile('# rates\n2\n\n5 # the fast one\n', 'r.txt')).toEqual([
      { nodeId: 'node-1', rate: 2 },
      { nodeId: 'node-2', rate: 5 },
    ]);
  });

  it.each([
    ['n-1,2\nn-2,-1\n', /r\.csv, line 2: a rate must be a positive number/],
    // Blank and comment lines before the rates still count: the line is the one an editor shows.
    ['\n\n# rates\nn-1,2\n  \nn-2,-1\n', /r\.csv, line 6: a rate must be a positive number/],
    ['\n\n2\nfast\n', /r\.csv, line 4: a rate must be a positive number/],
    ['\nnodeId,rate\nn-1,x\n', /r\.csv, line 3: a rate must be a positive number/],
    ['a,b,c\n', /r\.csv, line 1: expected "rate" or "nodeId,rate"/],
    ['[2, "x"]', /r\.csv, entry 2/],
    ['[true]', /entry 1: expected a rate or/],
    ['{"a": 0}', /r\.csv, a: a rate must be a positive number/],
    ['[2,', /not valid JSON/],
    ['# nothing\n', /holds no rates/],
  ])('refuses %j with the place named', (text, message) => {
    expect(() => parseRatesFile(text, 'r.csv')).toThrow(UsageError);
    expect(() => parseRatesFile(text, 'r.csv')).toThrow(message);
  });
});
