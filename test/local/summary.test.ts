/**
 * The run summary's reading of a run: whether ingest was over by its end decides whether
 * "converged" means "every node holds the final head" or "every interval from the recovery bound on".
 */
import { describe, expect, it } from 'vitest';
import { NO_FAULTS } from '#local/faults.ts';
import type { ScenarioOptions } from '#local/scenario.ts';
import { endsConverged, ingestContinues, noFaults, shouldHaveConverged, summarize, type IntervalSample } from '#local/summary.ts';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';

const OPTIONS: ScenarioOptions = {
  scenario: 'default',
  nodes: 2,
  intervalSeconds: 60,
  batchSize: 100,
  ingestRate: 0.1,
  quietAfter: 1,
  keys: 5,
  seed: 1,
  faults: NO_FAULTS,
};

function sample(index: number, head: number, lag: number, checkerConverged: boolean | null): IntervalSample {
  return {
    index,
    k: 1_000 + index,
    head,
    ingested: 6,
    microbatchesPlanned: 2,
    shards: 1,
    microbatchesApplied: 2,
    duplicatesSkipped: 0,
    deadLettered: 0,
    lagByNode: { 'node-1': lag, 'node-2': 0 },
    allAtHead: lag === 0,
    checkerConverged,
    faults: noFaults(),
  };
}

/** {@link sample}, with `ingested` updates ingested in the interval. */
function ingesting(index: number, ingested: number): IntervalSample {
  return { ...sample(index, ingested * index, 0, null), ingested };
}

function summaryOf(options: ScenarioOptions, samples: readonly IntervalSample[]) {
  const head = samples.at(-1)?.head ?? 0;
  return summarize({
    options,
    settings: { ...DEFAULT_SETTINGS, intervalSeconds: options.intervalSeconds, batchSize: options.batchSize },
    intervals: 6,
    rates: { 'node-1': 0.3, 'node-2': 0.2 },
    heads: samples.map((s) => s.head),
    samples,
    audit: { nodesChecked: 2, mismatched: 0, missing: 0, extra: 0, examples: [] },
    finalCursors: new Map([
      ['node-1', head - (samples.at(-1)?.lagByNode['node-1'] ?? 0)],
      ['node-2', head],
    ]),
    firstIntervalMicrobatches: new Map(),
    nodeTally: new Map(),
    deficits: new Map(),
    deadLettered: 0,
    durationMs: 1,
  });
}

describe('the run summary', () => {
  it('reads a run that stopped converged at the last interval of ingest as drained, converged at the minimum', () => {
    // Act: one interval of ingest, every node at the head, the checker agreeing — the run stops there.
    const last = sample(1, 6, 0, true);
    const summary = summaryOf(OPTIONS, [last]);

    // Assess
    expect(endsConverged(OPTIONS, last)).toBe(true);
    expect(summary).toMatchObject({ ingestContinued: false, converged: true, convergedAtInterval: 1, theoreticalMinIntervals: 1, recoveryBoundInterval: null });
  });

  it('reads ingest in every interval of a run that did not converge as continuous', () => {
    // Act: ingest until interval 2, a run of 2 intervals, a node still behind at the end.
    const options = { ...OPTIONS, quietAfter: 2 };
    const samples = [sample(1, 6, 6, null), sample(2, 12, 6, false)];
    const summary = summaryOf(options, samples);

    // Assess
    expect(ingestContinues(options, samples)).toBe(true);
    expect(summary.ingestContinued).toBe(true);
    expect(summary.converged).toBe(false);
    expect(shouldHaveConverged(summary)).toBe(true);
  });

  it('reads a run that went on after ingest stopped as drained, and ingest that never stops as continuous', () => {
    const last = sample(2, 6, 0, true);
    const drained = [sample(1, 6, 6, null), last];
    expect(ingestContinues(OPTIONS, drained)).toBe(false);
    expect(summaryOf(OPTIONS, drained)).toMatchObject({ ingestContinued: false, converged: true, convergedAtInterval: 2 });
    expect(ingestContinues({ quietAfter: null }, drained)).toBe(true);
    expect(endsConverged({ quietAfter: null }, last)).toBe(false);
  });

  it('does not stop a run before its ingest is over, nor before the checker has agreed', () => {
    expect(endsConverged({ quietAfter: 3 }, sample(2, 12, 0, true))).toBe(false);
    expect(endsConverged(OPTIONS, sample(1, 6, 0, null))).toBe(false);
    expect(endsConverged(OPTIONS, sample(1, 6, 1, true))).toBe(false);
  });

  it("flags a node as under-provisioned when an interval's ingest exceeded its share, though the configured rate is below it", () => {
    // Act: 0.1/s configured (6 an interval), 15 ingested in interval 2; shares ceil(0.3·60) = 18 and ceil(0.2·60) = 12.
    const summary = summaryOf({ ...OPTIONS, quietAfter: 3 }, [ingesting(1, 6), ingesting(2, 15), ingesting(3, 6)]);

    // Assess
    expect(summary.perNode.map((node) => [node.nodeId, node.underProvisioned])).toEqual([
      ['node-1', false],
      ['node-2', true],
    ]);
  });

  it('does not flag a node whose share took all that each interval ingested, though the configured rate is a fraction above it', () => {
    // Act: 0.201/s configured is 12.06 an interval, but each interval ingested round(12.06) = 12: the share of node-2.
    const summary = summaryOf({ ...OPTIONS, ingestRate: 0.201, quietAfter: 2 }, [ingesting(1, 12), ingesting(2, 12)]);

    // Assess
    expect(summary.perNode.map((node) => node.underProvisioned)).toEqual([false, false]);
  });
});
