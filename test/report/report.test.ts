import { parse } from 'node-html-parser';
import { describe, expect, it } from 'vitest';
import { drawnNodes, renderReport } from '#local/report/index.ts';
import { INTERVAL_ROWS_DRAWN } from '#local/report/sections/intervals.ts';
import type { NodeSummary, RunSummary } from '#local/summary.ts';
import { syntheticSummary } from './fixture.ts';

const HOSTILE = '<script>alert("x")</script>';

/** The markup of the main chart, from its opening tag to its closing one. */
function lagChart(page: string): string {
  const start = page.indexOf('<svg id="lag-chart"');
  expect(start, 'the page has an svg#lag-chart').toBeGreaterThanOrEqual(0);
  return page.slice(start, page.indexOf('</svg>', start));
}

/** The `d` of every line in the lag chart, keyed by its (unescaped) data-node. */
function nodeLines(page: string): Map<string, string> {
  const lines = new Map<string, string>();
  for (const match of lagChart(page).matchAll(/<path class="line" data-node="([^"]*)" d="([^"]*)"/g)) {
    lines.set(unescape(match[1] ?? ''), match[2] ?? '');
  }
  return lines;
}

/** The lag chart's legend, one text per node. */
function lagLegend(page: string): string[] {
  return parse(page)
    .querySelectorAll('.legend li')
    .map((item) => item.querySelectorAll('span, em').map((part) => part.text).join(' '));
}

/** The node table's node and capacity columns, row by row. */
function capacityColumn(page: string): [string, string][] {
  const table = parse(page)
    .querySelectorAll('section')
    .find((section) => section.querySelector('h2')?.text === 'Nodes');
  return (table?.querySelectorAll('tbody tr') ?? []).map((row) => [row.querySelector('th')?.text ?? '', row.querySelectorAll('td').at(-1)?.text ?? '']);
}

/** The interval section, from its opening tag to its closing one. */
function intervalTable(page: string): string {
  const start = page.indexOf('<section class="card" id="intervals">');
  expect(start, 'the page has a section#intervals').toBeGreaterThanOrEqual(0);
  return page.slice(start, page.indexOf('</section>', start));
}

function unescape(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&');
}

function expectOnlyFiniteNumbers(page: string): void {
  expect(page).not.toContain('NaN');
  expect(page).not.toContain('Infinity');
  expect(page).not.toContain('undefined');
}

function withNode(summary: RunSummary, position: number, changes: Partial<NodeSummary>): RunSummary {
  return { ...summary, perNode: summary.perNode.map((node, at) => (at === position ? { ...node, ...changes } : node)) };
}

describe('renderReport', () => {
  const summary = syntheticSummary();
  const page = renderReport(summary);

  it('renders a whole HTML page', () => {
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page.trimEnd().endsWith('</html>')).toBe(true);
    expect(page).toContain('<meta charset="utf-8">');
  });

  it('loads nothing: no remote address, no src, no external stylesheet, no script', () => {
    expect(page).not.toMatch(/https?:\/\//i);
    expect(page).not.toMatch(/\ssrc\s*=/i);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/@import|url\(/i);
    for (const [, href] of page.matchAll(/href="([^"]*)"/g)) expect(href).toMatch(/^data:/);
  });

  it('forbids every fetch in its own content security policy', () => {
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('draws one non-empty line per node in the lag chart, in node order', () => {
    const lines = nodeLines(page);
    expect([...lines.keys()]).toEqual(summary.perNode.map((node) => node.nodeId));
    for (const d of lines.values()) expect(d).toMatch(/^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){9}$/);
  });

  it('names every node in the legend and the node table', () => {
    for (const node of summary.perNode) expect(page.split(`>${node.nodeId}<`).length - 1).toBeGreaterThanOrEqual(2);
  });

  it('marks where the run converged, its theoretical minimum and where ingest stopped', () => {
    const chart = lagChart(page);
    expect(chart).toContain('>converged at 10<');
    expect(chart).toContain('>theoretical min 9<');
    expect(chart).toContain('>no ingest after interval 6<');
    expect(chart).toContain('class="quiet"');
  });

  it('says a converged run converged, against its bound, with a clean audit', () => {
    expect(page).toContain('Every node converged and matches the log');
    expect(page).toContain('Converged at interval 10');
    expect(page).toContain('theoretical minimum 9 · 1 interval over it · last: node-f');
    expect(page).toContain('Audit clean');
  });

  it('says a short run did not converge, which nodes are behind, and what the audit found', () => {
    const failed: RunSummary = {
      ...syntheticSummary({ intervals: 8 }),
      audit: { nodesChecked: 6, mismatched: 1, missing: 2, extra: 0, examples: ['node-c key k-17: replica seq 1201, replay seq 1310'] },
    };
    const report = renderReport(failed);
    expect(report).toContain('This run needs attention');
    expect(report).toContain('Did not converge in 8 intervals');
    expect(report).toContain('theoretical minimum 9 (longer than the run) · not at head: node-f');
    expect(report).toContain('Audit found 3 differences');
    expect(report).toContain('2 missing · 0 extra · 1 different, across 6 nodes');
    expect(report).toContain('node-c key k-17: replica seq 1201, replay seq 1310');
    expect(lagChart(report)).not.toContain('converged at');
  });

  it('flags the node that converged late', () => {
    expect(page).toContain('<span class="warn-text">10</span><span class="muted"> / 9</span>');
  });

  it("marks 'share < ingest' exactly the nodes whose share ceil(r·t) was below what an interval ingested while ingest ran", () => {
    // Prepare: the run ingested at most 771 updates in an interval (interval 6), 720 on average: node-d's
    // share of 750 is above the configured 720 but below that interval's ingest.
    const peak = Math.max(...summary.intervals.map((sample) => sample.ingested));

    // Act
    const marked = capacityColumn(page)
      .filter(([, capacity]) => capacity === 'share < ingest')
      .map(([nodeId]) => nodeId);

    // Assess
    expect(peak).toBe(771);
    expect(marked).toEqual(['node-b', 'node-d', 'node-f']);
    expect(summary.perNode.filter((node) => node.underProvisioned).map((node) => node.nodeId)).toEqual(['node-b', 'node-d', 'node-f']);
    expect(page).toContain(
      'title="its share ⌈r·t⌉ = 750 is below the ingest per interval while ingest ran (771 updates in interval 6): it falls behind while ingest runs">share &lt; ingest</span>',
    );
    expect(lagLegend(page)).toEqual(['node-a', 'node-b share < ingest', 'node-c', 'node-d share < ingest', 'node-e', 'node-f share < ingest']);
  });

  it('marks no node of a run whose every interval ingested no more than each share, whatever the configured rate', () => {
    // Act: ingest stops before the first interval.
    const report = renderReport(syntheticSummary({ quietAfter: 0 }));

    // Assess
    expect(report).not.toContain('share &lt; ingest');
  });

  it('shows the formula numbers per node: share, busy b_i and first-interval b_i', () => {
    const slow = summary.perNode.find((node) => node.nodeId === 'node-f');
    expect(slow).toMatchObject({ rate: 8, sharePerInterval: 480, microbatchesPerBusyInterval: 5, firstIntervalMicrobatches: 5 });
    expect(page).toMatch(/node-f<\/span><\/th>\s*<td class="num">8<\/td>\s*<td class="num">480<\/td>\s*<td class="num">5<\/td>\s*<td class="num">5<\/td>/);
  });

  it('lists every fault kind with its count', () => {
    for (const label of ['duplicate delivery', 'applier crash', 'throttled request', 'poison message', 'planner duplicate', 'reordered batch']) {
      expect(page).toContain(`>${label}</text>`);
    }
    expect(page).toContain(`>${summary.faults.throttle}</text>`);
  });

  it('writes a row per interval with its checker verdict', () => {
    expect(page.match(/<tr( class="at-head")?>\s*<th scope="row" class="num">/g)).toHaveLength(summary.intervals.length);
    expect(page).toContain('title="no plan to judge yet">–<');
  });

  it('shows every row of the interval table in the page, in no scroll box', () => {
    // Prepare: 300 intervals, more than the old 560-pixel box showed.
    const long = renderReport(syntheticSummary({ intervals: 300, quietAfter: 250 }));

    // Act
    const section = intervalTable(long);

    // Assess
    expect(section.match(/<tr( class="at-head")?>\s*<th scope="row" class="num">/g)).toHaveLength(300);
    expect(section).not.toContain('scroll');
    expect(section).not.toContain('left out');
    expect(long).not.toMatch(/max-height/);
  });

  it('draws the first and last intervals of a very long run, and says how many it leaves out and where', () => {
    // Prepare
    const long = renderReport(syntheticSummary({ intervals: 2500, quietAfter: 2000 }));

    // Act
    const section = intervalTable(long);
    const drawn = [...section.matchAll(/<th scope="row" class="num">([\d,]+)<\/th>/g)].map((match) => match[1]);

    // Assess
    expect(drawn).toHaveLength(INTERVAL_ROWS_DRAWN);
    expect(drawn.slice(INTERVAL_ROWS_DRAWN / 2 - 1, INTERVAL_ROWS_DRAWN / 2 + 1)).toEqual(['250', '2,251']);
    expect(section).toContain('2,000 intervals left out here (251–2,250): <code>summary.json</code> holds every one');
    expect(section).toContain('The table shows the first and last 250 of 2,500 intervals');
  });

  it('escapes a hostile node id, setting and audit example as text', () => {
    const hostile: RunSummary = {
      ...withNode(summary, 0, { nodeId: HOSTILE }),
      intervals: summary.intervals.map((sample) => ({ ...sample, lagByNode: { ...sample.lagByNode, [HOSTILE]: sample.lagByNode['node-a'] ?? 0 } })),
      settings: { ...summary.settings, faults: HOSTILE },
      audit: { ...summary.audit, mismatched: 1, examples: [HOSTILE] },
    };
    const report = renderReport(hostile);
    expect(report).not.toMatch(/<script/i);
    expect(report).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(nodeLines(report).has(HOSTILE)).toBe(true);
    expect(nodeLines(report).get(HOSTILE)).not.toBe('');
  });

  it('renders a run of one interval with a point per node and no NaN', () => {
    const report = renderReport(syntheticSummary({ intervals: 1 }));
    expectOnlyFiniteNumbers(report);
    const lines = nodeLines(report);
    expect(lines.size).toBe(6);
    // d3-shape closes the path of a lone point (`Z`); the circle drawn on it is what shows.
    for (const d of lines.values()) expect(d).toMatch(/^M[\d.]+,[\d.]+Z$/);
    expect(lagChart(report).match(/<circle /g)).toHaveLength(6);
  });

  it('renders a run with no nodes without NaN, saying so in the chart', () => {
    const report = renderReport(syntheticSummary({ rates: {} }));
    expectOnlyFiniteNumbers(report);
    expect(lagChart(report)).not.toContain('data-node');
    expect(lagChart(report)).toContain('No nodes in this run');
    expect(report).toContain('No nodes in this run.');
  });

  it('renders a run that recorded no interval without NaN', () => {
    const report = renderReport({ ...syntheticSummary({ rates: {} }), intervals: [], intervalsRun: 0, convergedAtInterval: null, converged: false });
    expectOnlyFiniteNumbers(report);
    expect(report).toContain('No intervals recorded');
  });

  it('shows a dash, never Infinity, for the bound of a node with rate 0', () => {
    const stalled = withNode({ ...summary, converged: false, convergedAtInterval: null, theoreticalMinIntervals: Number.POSITIVE_INFINITY }, 5, {
      rate: 0,
      sharePerInterval: 0,
      theoreticalMinInterval: Number.POSITIVE_INFINITY,
      convergedAtInterval: null,
    });
    const report = renderReport(stalled);
    expectOnlyFiniteNumbers(report);
    expect(report).toContain('no theoretical minimum (a node has rate 0)');
    expect(report).toContain('<span class="pill bad">never</span><span class="muted"> / —</span>');
  });

  it('tells more than ten nodes apart by line pattern once the colors repeat', () => {
    const rates = Object.fromEntries(Array.from({ length: 12 }, (_, position) => [`n-${position}`, 10 + position]));
    const report = renderReport(syntheticSummary({ rates }));
    expect(nodeLines(report).size).toBe(12);
    expect(lagChart(report).match(/stroke-dasharray="7 4"/g)).toHaveLength(2);
  });

  it('renders a long run of many nodes, more points than a spread argument list can take, drawing the 24 that converged last', () => {
    const rates = Object.fromEntries(Array.from({ length: 60 }, (_, position) => [`n-${position}`, 5 + position]));
    const summary = syntheticSummary({ rates, intervals: 2500, quietAfter: 2000 });
    const report = renderReport(summary);
    expectOnlyFiniteNumbers(report);
    expect(nodeLines(report).size).toBe(24);
    expect(report).toContain('The chart and the node table show the 24 nodes that converged last, of 60');
    const lastToConverge = Math.max(...summary.perNode.map((node) => node.convergedAtInterval ?? Number.POSITIVE_INFINITY));
    const drawn = drawnNodes(summary);
    expect(drawn.some((node) => (node.convergedAtInterval ?? Number.POSITIVE_INFINITY) === lastToConverge)).toBe(true);
    expect(drawn.every((node) => nodeLines(report).has(node.nodeId))).toBe(true);
  });

  it('renders the same bytes for the same summary', () => {
    expect(renderReport(syntheticSummary())).toBe(page);
  });
});
