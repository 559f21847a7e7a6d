import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'node-html-parser';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { microbatch } from '#test/support/microbatch-cli.ts';
import { mockedLocalStateFile } from '#test/support/mocked-deployment.ts';


/** Runs `microbatch …` in process, with stdout and stderr captured. */

const BASE = ['advise', '--rates', '2,5,10', '--ingest-rate', '4', '--target-lag', '180'];

describe('microbatch advise', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'advise-'));
    process.exitCode = undefined;
  });
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('prints the prices used, the recommendation, the point in detail and the feasible region', async () => {
    const { code, stdout } = await microbatch(...BASE);
    expect(code).toBe(0);
    expect(stdout).toContain('Prices: us-east-1, on-demand list prices');
    expect(stdout).toMatch(/sqsFifoRequest .*SQS FIFO requests/);
    expect(stdout).toContain('Recommended: t = 120 s, b = 100');
    expect(stdout).toContain('At the recommendation: t = 120 s, b = 100');
    expect(stdout).toMatch(/node-1 .* NEVER/);
    // At t = 120: shares 240, 600, 1,200 against 480 per interval → 240, 480, 480 updates, 3 + 5 + 5 tokens.
    expect(stdout).toMatch(/tokens \(microbatch messages\) +│ 13 /);
    expect(stdout).toMatch(/SQS SendMessageBatch = ceil\(tokens \/ 10\) +│ 2 /);
    expect(stdout).toContain('Feasible region');
  });

  it('shows a node whose share only equals the ingest per interval as never converging, as its catch-up says', async () => {
    // Act: the command line; at t = 60 node-2 takes ceil(1 · 60) = 60, the 60 ingested.
    const { code, stdout } = await microbatch('advise', '--rates', '0.5,1,50', '--ingest-rate', '1', '--target-lag', '60');

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('At the recommendation: t = 60 s, b = 5, ingest 1/s = 60 per interval');
    expect(stdout).toMatch(/│ node-2 +│ 1 +│ 60 +│ NEVER \(= ingest\) +│ 60 +│ 12 +│ never +│ never +│/);
    expect(stdout).toMatch(/2 nodes never converge at t = 60 s .*node-2 \(share 60 = the ingest\)/);
  });

  it('says where the backlog of the catch-up column comes from: ten minutes of ingest unless --backlog gives one', async () => {
    // Act
    const defaulted = await microbatch(...BASE);
    const given = await microbatch(...BASE, '--backlog', '100');

    // Assess: 4/s for 600 s is 2,400 updates.
    expect(defaulted.stdout).toContain('catch-up from a backlog of 2,400 updates (by default 10 minutes of ingest at 4/s; --backlog N for another)\n');
    expect(given.stdout).toContain('catch-up from a backlog of 100 updates\n');
  });

  it('prints what the README shows for its example, line for line up to the "…"', async () => {
    // Prepare: the README's advise example, its command line and the lines shown.
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /```\n\$ npx microbatch (advise [^\n]*)\n([\s\S]*?)\n…\n```/.exec(readme);
    expect(block, 'the README has an advise example ending in "…"').not.toBeNull();
    const [, commandLine = '', shown = ''] = block ?? [];

    // Act
    const { code, stdout } = await microbatch(...commandLine.split(' '));

    // Assess
    expect(code).toBe(0);
    expect(stdout.split('\n').slice(0, shown.split('\n').length).join('\n')).toBe(shown);
  });

  it('recommends on cost alone, the least stale within 1 %, without --target-lag', async () => {
    // Act
    const { code, stdout, stderr } = await microbatch('advise', '--rates', '2,5,10', '--ingest-rate', '4');
    const json = await microbatch('--json', 'advise', '--rates', '2,5,10', '--ingest-rate', '4');

    // Assess: every point with a converging node "meets" no target, so the cheapest within 1 % wins.
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^Recommended: t = \d+ s, b = \d+$/m);
    expect(stdout).toMatch(/^ {2}t = \d+ s, b = \d+: the cheapest \(to within 1 %\) of the \d+ points that meet every limit \(worst staleness [\d.]+ s, \$[\d.]+\/month\); no lag target was given \(--target-lag S sets one\)\.$/m);
    expect(stdout).toContain('Staleness is judged on the other nodes.');
    expect(stdout).toContain('Feasible region: monthly cost where every limit is met; ×: breaks a limit (--json: every point)');
    const analysis = JSON.parse(json.stdout) as { input: { targetLagSeconds: number | null }; recommendation: { meetsTargetLag: boolean } };
    expect(analysis.input.targetLagSeconds).toBeNull();
    expect(analysis.recommendation.meetsTargetLag).toBe(true);
  });

  it('evaluates the t and b asked for', async () => {
    const { code, stdout } = await microbatch(...BASE, '--interval', '60', '--batch-size', '100');
    expect(code).toBe(0);
    expect(stdout).toContain('As asked: t = 60 s, b = 100, ingest 4/s = 240 per interval');
    // The hand-computed case of model.test.ts: $31.505441.
    expect(stdout).toMatch(/total \(requests and compute.*\$31\.51/);
    expect(stdout).toMatch(/shards S \(planner and checker each\) over B Scan segments +│ 1 over 1 /);
    expect(stdout).toMatch(/SQS task queues: send, receive \(tasks \+ idle polls\), delete +│ 2 \+ 8 \+ 2 /);
    expect(stdout).toMatch(/sqsStandardRequest .*SQS standard requests/);
  });

  it('cuts the fleet as --nodes-per-shard and --shards say', async () => {
    // Three nodes: the stack's 50,000 a shard make 1 shard; 1 a shard makes ceil(3 / 1) = 3 (over
    // B = 4 segments, the power of two ≥ 3); --shards 2 makes 2.
    const cut = async (...flags: string[]): Promise<{ shards: number; segments: number }> => {
      const { code, stdout, stderr } = await microbatch('--json', ...BASE, '--interval', '60', '--batch-size', '100', ...flags);
      expect(code, stderr).toBe(0);
      return (JSON.parse(stdout) as { evaluated: { requests: { sharding: { shards: number; segments: number } } } }).evaluated.requests.sharding;
    };
    expect(await cut()).toMatchObject({ shards: 1, segments: 1 });
    expect(await cut('--nodes-per-shard', '1')).toMatchObject({ shards: 3, segments: 4 });
    expect(await cut('--shards', '2')).toMatchObject({ shards: 2, segments: 2 });
  });

  it('prints the whole analysis with --json', async () => {
    const { code, stdout } = await microbatch('--json', ...BASE, '--price', 'dynamodbWriteRequestUnit=1.25', '--interval', '60', '--batch-size', '100');
    expect(code).toBe(0);
    const analysis = JSON.parse(stdout) as {
      prices: { region: string; items: { key: string; usd: number; overridden: boolean }[] };
      recommendation: { intervalSeconds: number; batchSize: number; reasons: string[] };
      evaluated: { intervalSeconds: number; requests: { tokens: number }; monthly: { totalUsd: number } };
      region: { feasible: boolean }[];
    };
    expect(analysis.prices.region).toBe('us-east-1');
    expect(analysis.prices.items.find((item) => item.key === 'dynamodbWriteRequestUnit')).toMatchObject({ usd: 1.25, overridden: true });
    expect(analysis.evaluated.intervalSeconds).toBe(60);
    expect(analysis.evaluated.requests.tokens).toBe(8);
    // $31.505441 plus the write units' $30.249375 once more at twice the price.
    expect(analysis.evaluated.monthly.totalUsd).toBeCloseTo(61.754816, 4);
    expect(analysis.region).toHaveLength(9 * 13);
    expect(analysis.recommendation.reasons.length).toBeGreaterThan(0);
  });

  it('reads rates from a file', async () => {
    const file = join(folder, 'rates.csv');
    writeFileSync(file, 'nodeId,rate\nedge-a,5\nedge-b,10\n');
    const { code, stdout } = await microbatch('--json', 'advise', '--rates-file', file, '--ingest-rate', '4', '--target-lag', '180');
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { input: { nodes: unknown } }).input.nodes).toEqual([
      { nodeId: 'edge-a', rate: 5 },
      { nodeId: 'edge-b', rate: 10 },
    ]);
  });

  it('draws lag and cost against t and b in a self-contained page with --html', async () => {
    const file = join(folder, 'advice.html');
    const { code, stderr } = await microbatch(...BASE, '--html', file);
    expect(code).toBe(0);
    expect(stderr).toContain(`wrote ${file}`);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/NaN|Infinity|undefined|<script|https?:\/\/[^"]*\.(css|js)/);
    const page = parse(text);
    expect(page.querySelector('h1')?.text).toBe('Recommended: t = 120 s, b = 100');
    const charts = page.querySelectorAll('svg.chart');
    expect(charts.map((chart) => chart.id)).toEqual(['lag-by-interval', 'cost-by-interval', 'lag-by-batch', 'cost-by-batch']);
    for (const chart of charts) {
      const labels = chart.querySelectorAll('text.axis-label').map((label) => label.text);
      expect(labels, chart.id).toHaveLength(2);
      expect(labels[0]).toMatch(/^(t, interval \(s\), at b = 100|b, updates per microbatch, at t = 120 s)$/);
      expect(labels[1]).toMatch(/^(staleness \(s\)|USD per month)$/);
      expect(chart.querySelector('path.line')?.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L/);
      // The recommendation is marked on every chart.
      expect(chart.querySelectorAll('circle.chosen')).toHaveLength(1);
    }
    // The axes place the grid evenly and label it with its values.
    const ticks = (id: string): string[] => page.querySelector(id)?.querySelectorAll('.axis text[text-anchor="middle"]:not(.axis-label)').map((tick) => tick.text) ?? [];
    expect(ticks('#cost-by-interval')).toEqual(['60', '120', '180', '300', '600', '900', '1.2K', '1.8K', '3.6K']);
    expect(ticks('#cost-by-batch')).toEqual(['1', '5', '20', '100', '500', '2K', '10K']);
    expect(page.querySelector('#lag-by-interval .marker text')?.text).toBe('target 180 s');
    // Without a target there is no line to draw.
    const untargeted = join(folder, 'untargeted.html');
    expect((await microbatch('advise', '--rates', '2,5,10', '--ingest-rate', '4', '--html', untargeted)).code).toBe(0);
    expect(parse(readFileSync(untargeted, 'utf8')).querySelectorAll('.marker')).toHaveLength(0);
    // One row per price.
    expect(page.querySelectorAll('table tbody tr')).toHaveLength(7);
  });

  it.each([
    [['advise', '--rates', '2,-5', '--ingest-rate', '4', '--target-lag', '180'], /--rates, the 2nd value: a rate must be a positive number of updates per second \(got "-5"\)/],
    [['advise', '--ingest-rate', '4', '--target-lag', '180'], /no node rates: give --rates r1,r2,…, --rates-file FILE, or a deployment/],
    [['--stack', 'Prod', ...BASE, '--interval', '30'], /--interval 30: a deployed stack needs whole minutes, at least 60 s/],
    [[...BASE, '--interval', '30'], /--interval 30: a deployed stack needs whole minutes/],
    [[...BASE, '--price', 'lambdaRequest=free'], /--price lambdaRequest: must be a number of US dollars ≥ 0/],
    [[...BASE, '--price', 'egress=0.09'], /--price egress: not a price the advisor uses/],
    [['advise', '--rates', '2', '--target-lag', '180'], /--ingest-rate is required/],
    [['advise', '--rates', '2', '--ingest-rate', '-1', '--target-lag', '180'], /--ingest-rate must be a number ≥ 0 \(got "-1"\)/],
    [[...BASE, '--batch-size', '20000'], /--batch-size must be a whole number 1–10000/],
    [[...BASE, '--nodes-per-shard', '0'], /--nodes-per-shard: must be between 1 and 10000000 \(got 0\)/],
    [[...BASE, '--nodes-per-segment', '50000'], /--nodes-per-segment: must be between 1 and 20000 \(got 50000\)/],
    [[...BASE, '--shards', 'two'], /--shards: must be a whole number \(got "two"\)/],
    [[...BASE, '--rates-file', 'x.csv'], /give --rates or --rates-file, not both/],
    [['advise', '--rates-file', '/nonexistent/rates.csv', '--ingest-rate', '4', '--target-lag', '180'], /--rates-file \/nonexistent\/rates\.csv: cannot read it/],
  ])('refuses bad input with a clear message and exit 2: %j', async (args, message) => {
    const html = join(folder, 'never.html');
    const { code, stdout, stderr } = await microbatch(...args, '--html', html);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
    expect(() => readFileSync(html)).toThrow(/ENOENT/);
  });

  it('allows t below a minute for a local deployment (checked before the state file is read)', async () => {
    const { code, stderr } = await microbatch('--state-file', join(folder, 'missing.json'), ...BASE, '--interval', '30');
    // The interval passes; the rates come from the flags, so no state file is needed.
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

describe('microbatch advise on a deployment', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const stateFile = mockedLocalStateFile();

  beforeEach(() => {
    ddb.reset();
    process.exitCode = undefined;
  });

  it.each([
    [1, 'warning: 1 Nodes item is not a valid node and was left out (the planner skips them too)'],
    [2, 'warning: 2 Nodes items are not valid nodes and were left out (the planner skips them too)'],
  ])('reads the rates of its Nodes table and warns of the %i items that are not nodes in agreeing words, with --json too', async (bad, note) => {
    // Prepare: two active nodes, and items with a rate stored as a string.
    const broken = Array.from({ length: bad }, (_, index) => ({ nodeId: `bad-${index}`, rate: 'fast', status: 'active', appliedSeq: 0, appliedChain: '0'.repeat(64), plannedSeq: 0 }));
    ddb.on(DescribeTableCommand).resolves({ Table: { ItemCount: 3 } });
    ddb.on(ScanCommand).resolves({ Items: [...['n-1', 'n-2'].map((nodeId) => ({ nodeId, rate: 2, status: 'active', appliedSeq: 0, appliedChain: '0'.repeat(64), plannedSeq: 0 })), ...broken] });

    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', stateFile, '--json', 'advise', '--ingest-rate', '1', '--target-lag', '180');

    // Assess
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(note);
    expect((JSON.parse(stdout) as { input: { nodes: unknown[] } }).input.nodes).toEqual([
      { nodeId: 'n-1', rate: 2 },
      { nodeId: 'n-2', rate: 2 },
    ]);
  });
});
