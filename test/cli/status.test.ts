/** `microbatch status`'s parts that need no emulator: the stack's alarms (mocked CloudWatch), the table, `--watch`. */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { formatStatus } from '#cli/status/format-status.ts';
import { alarmsInAlarm, convergenceRow, type StatusReport } from '#cli/status/read-status.ts';
import { repeatUntilAborted } from '#cli/status/watch.ts';

describe('alarmsInAlarm', () => {
  it("asks for the stack's alarms in ALARM by the stack name prefix, page by page", async () => {
    // Prepare
    const cloudWatch = mockClient(CloudWatchClient);
    cloudWatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'Sync-NotConverged-AB12', StateReason: 'Threshold Crossed', StateUpdatedTimestamp: new Date('2026-11-30T07:00:00Z') }], NextToken: 'page-2' })
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'Sync-DeadLetters-CD34', StateReason: '1 datapoint' }] });

    // Act
    const alarms = await alarmsInAlarm(new CloudWatchClient({ region: 'eu-west-1' }), 'Sync');

    // Assess
    expect(alarms).toEqual([
      { name: 'Sync-NotConverged-AB12', reason: 'Threshold Crossed', since: '2026-11-30T07:00:00.000Z' },
      { name: 'Sync-DeadLetters-CD34', reason: '1 datapoint' },
    ]);
    expect(cloudWatch).toHaveReceivedNthCommandWith(DescribeAlarmsCommand, 1, { AlarmNamePrefix: 'Sync-', StateValue: 'ALARM' });
    expect(cloudWatch).toHaveReceivedNthCommandWith(DescribeAlarmsCommand, 2, { AlarmNamePrefix: 'Sync-', StateValue: 'ALARM', NextToken: 'page-2' });
  });
});

/** Two planner shards over four segments, both reported. */
const CUT = { shards: 2, segments: 4, previousSegments: 4, shardsReported: 2, shardsExpired: 0 } as const;

describe('formatStatus', () => {
  const report: StatusReport = {
    stream: 'main',
    convergence: [
      convergenceRow({ ...CUT, stream: 'main', interval: 13, head: 950, headChain: 'c', plannedAt: '2026-11-30T07:03:00Z', converged: false, shardsReported: 1 }),
      convergenceRow({ ...CUT, stream: 'main', interval: 12, head: 900, headChain: 'c', plannedAt: '2026-11-30T07:02:00Z', converged: false }),
      convergenceRow({
        ...CUT,
        stream: 'main',
        interval: 11,
        head: 800,
        headChain: 'c',
        plannedAt: '2026-11-30T07:01:00Z',
        converged: false,
        checkedAt: '2026-11-30T07:02:00Z',
        verdict: {
          interval: 11,
          head: 800,
          activeNodes: 9,
          consistentNodes: 4,
          maxLagUpdates: 120,
          maxStalenessSeconds: 61.4,
          laggingCount: 5,
          laggingNodes: ['a', 'b', 'c', 'd', 'e'].map((nodeId) => ({ nodeId, appliedSeq: 700, lagUpdates: 100, stalenessSeconds: 60 })),
          underProvisionedCount: 0,
          underProvisionedNodes: [],
          integrityFailureCount: 0,
          integrityFailures: [],
          converged: false,
        },
      }),
    ],
    queue: { visible: 3, inFlight: 1, delayed: 0 },
    deadLetterQueue: { visible: 2, inFlight: 0, delayed: 0 },
    alarmsInAlarm: [{ name: 'Sync-NotConverged-AB12', reason: 'Threshold Crossed', since: '2026-11-30T07:00:00.000Z' }],
  };

  it('shows each interval with its verdict, the first laggards and how many more, the depths and the alarms', () => {
    // Act
    const text = formatStatus(report);

    // Assess
    expect(text).toMatch(/│ 13\s+│ 07:03:00\s+│ 950\s+│ 1\/2\s+│\s+│\s+│\s+│\s+│ planning\s+│/);
    expect(text).toMatch(/│ 12\s+│ 07:02:00\s+│ 900\s+│ 2\/2\s+│\s+│\s+│\s+│\s+│ not judged yet\s+│/);
    expect(text).toMatch(/│ 11\s+│ 07:01:00\s+│ 800\s+│ 2\/2\s+│ 4\/9\s+│ 120\s+│ 61 s\s+│ a, b, c \+2\s+│ not yet\s+│/);
    expect(text).toContain('microbatch queue: 3 waiting, 1 in flight');
    expect(text).toContain('dead-letter queue: 2 waiting, 0 in flight  ← see `npx microbatch dlq list`');
    expect(text).toContain('alarms in ALARM:\n  Sync-NotConverged-AB12 since 2026-11-30T07:00:00.000Z: Threshold Crossed');
  });

  it("shows each interval's start (its tick's scheduled time) as UTC time of day, the day once in the heading", () => {
    // Act
    const text = formatStatus(report);

    // Assess
    expect(text).toContain('stream main: the newest 3 intervals, on 2026-11-30 (UTC)\n');
    expect(text).toMatch(/│ interval\s+│ starts\s+│ head\s+│/);
  });

  it('shows the date with each start when the intervals span days', () => {
    // Prepare: one-hour intervals across midnight.
    const spanning = [
      convergenceRow({ ...CUT, stream: 'main', interval: 490_632, head: 950, headChain: 'c', plannedAt: '2026-12-01T00:00:00Z', converged: false }),
      convergenceRow({ ...CUT, stream: 'main', interval: 490_631, head: 900, headChain: 'c', plannedAt: '2026-11-30T23:00:00Z', converged: false }),
    ];

    // Act
    const text = formatStatus({ ...report, convergence: spanning });

    // Assess
    expect(text).toContain('stream main: the newest 2 intervals (UTC)\n');
    expect(text).toMatch(/│ 490632\s+│ 2026-12-01 00:00:00\s+│/);
    expect(text).toMatch(/│ 490631\s+│ 2026-11-30 23:00:00\s+│/);
  });

  it('counts the intervals shown, in the singular for one', () => {
    // Act
    const one = formatStatus({ ...report, convergence: report.convergence.slice(0, 1) });
    const three = formatStatus(report);

    // Assess
    expect(one).toContain('stream main: the newest 1 interval, on 2026-11-30 (UTC)\n');
    expect(three).toContain('stream main: the newest 3 intervals, on 2026-11-30 (UTC)\n');
  });

  it('says a local deployment has no alarms', () => {
    // Act / Assess
    expect(formatStatus({ ...report, convergence: [], alarmsInAlarm: null })).toContain('no convergence records yet');
    expect(formatStatus({ ...report, alarmsInAlarm: null })).toContain('alarms: none locally');
  });
});

describe('repeatUntilAborted', () => {
  it('runs at once, then every period, until aborted', async () => {
    // Prepare
    const stop = new AbortController();
    let runs = 0;
    const work = (): Promise<void> => {
      runs += 1;
      if (runs === 3) stop.abort();
      return Promise.resolve();
    };

    // Act
    const counted = await repeatUntilAborted(work, 5, stop.signal);

    // Assess
    expect([counted, runs]).toEqual([3, 3]);
  });
});
