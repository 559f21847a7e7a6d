/** What `npm start` prints for a person: the run's header line and the closing verdict, in words that agree with their counts. */
import { describe, expect, it } from 'vitest';
import { finalReport, header } from '#local/console-tables.ts';
import type { Emulators } from '#local/emulators.ts';
import { NO_FAULTS } from '#local/faults.ts';
import type { SimulationOptions } from '#local/simulation.ts';
import type { RunSummary } from '#local/summary.ts';
import { syntheticSummary } from '#test/report/fixture.ts';

const EMULATORS: Emulators = {
  endpoints: { dynamodb: 'http://127.0.0.1:8000', sqs: 'http://127.0.0.1:4566' },
  startupMs: { dynamodb: 900, sqs: 100, total: 900 },
  stop: () => Promise.resolve(),
};

const ONE_OF_EACH: SimulationOptions = {
  scenario: 'default',
  nodes: 1,
  intervals: 1,
  intervalSeconds: 60,
  batchSize: 100,
  ingestRate: 1,
  quietAfter: 1,
  keys: 1,
  seed: 1,
  faults: NO_FAULTS,
};

/** A run of one node that ingested one update in one microbatch, and did not converge in its one interval. */
function oneOfEach(): RunSummary {
  const run = syntheticSummary({ rates: { 'node-a': 1 }, intervals: 1, quietAfter: 1, faults: false });
  return {
    ...run,
    converged: false,
    ingestContinued: false,
    convergedAtInterval: null,
    updatesIngested: 1,
    microbatchesPlanned: 1,
    microbatchesApplied: 1,
    duplicatesSkipped: 1,
    deadLettered: 1,
    audit: { nodesChecked: 1, mismatched: 0, missing: 0, extra: 0, examples: [] },
  };
}

describe('header', () => {
  it('writes the singular of each count that is 1', () => {
    // Act
    const text = header(ONE_OF_EACH, 1, EMULATORS);

    // Assess
    expect(text).toContain('1 node, t = 60 s, b = 100, ingest 1/s for 1 interval, 1 key, seed 1, at most 1 interval; faults: none');
  });

  it('writes the plural of each count that is not 1', () => {
    // Act
    const text = header({ ...ONE_OF_EACH, nodes: 6, quietAfter: 4, keys: 1_000 }, 12, EMULATORS);

    // Assess
    expect(text).toContain('6 nodes, t = 60 s, b = 100, ingest 1/s for 4 intervals, 1,000 keys, seed 1, at most 12 intervals; faults: none');
  });
});

describe('finalReport', () => {
  const files = { html: 'out/report.html', summary: 'out/summary.json' };
  const timing = { wallMs: 2_000, startupMs: 900 };

  it('writes the singular of each count that is 1 in the verdict and the audit', () => {
    // Act
    const text = finalReport(oneOfEach(), files, timing);

    // Assess
    expect(text).toContain('1 update, 1 microbatch planned, 1 applied, 1 duplicate skipped, 1 dead-lettered.');
    expect(text).toContain('Not converged after 1 interval (theoretical minimum');
    expect(text).toContain('Audit: 1 node, 0 mismatched, 0 missing, 0 extra');
  });
});
