/**
 * The report as a person sees it: written to disk, opened from a file:// URL in headless Chromium
 * (driven by playwright-core; `launchChromium` picks which one), checked, photographed.
 * The screenshot goes to out/screenshots; with UPDATE_README_PICTURE=1 it also replaces the README's
 * picture of the report (`docs/report.png`) — never by default, so a test run leaves the tree clean.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '#local/report-file.ts';
import { launchChromium } from '../support/browser.ts';
import { syntheticSummary } from './fixture.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOT = join(ROOT, 'out', 'screenshots', 'report.png');
const README_PICTURE = join(ROOT, 'docs', 'report.png');

const summary = syntheticSummary();

interface DrawnLine {
  getAttribute(name: string): string | null;
  getTotalLength(): number;
  getBoundingClientRect(): { readonly width: number };
}

describe('the report in headless Chromium', () => {
  // Unset when beforeAll stops early (no Chromium launched), so afterAll cleans up only what exists.
  let workDir: string | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let reportUrl: string;
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'report-browser-'));
    workDir = dir;
    const files = await writeReport(join(dir, 'out'), summary);
    reportUrl = pathToFileURL(files.html).href;
    const launched = await launchChromium();
    browser = launched;
    page = await launched.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(reportUrl, { waitUntil: 'load' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('draws the lag chart with a visible, non-empty line for every node', async () => {
    const chart = page.locator('svg#lag-chart');
    await expect(chart.isVisible()).resolves.toBe(true);
    const box = await chart.boundingBox();
    expect(box?.width).toBeGreaterThan(300);
    expect(box?.height).toBeGreaterThan(100);

    const lines = await chart.locator('[data-node]').evaluateAll((elements) =>
      elements.map((element) => {
        // The test's tsconfig has no DOM lib; this is the slice of SVGGeometryElement used here.
        const line = element as unknown as DrawnLine;
        return {
          node: line.getAttribute('data-node'),
          d: line.getAttribute('d') ?? line.getAttribute('points') ?? '',
          length: line.getTotalLength(),
          width: line.getBoundingClientRect().width,
        };
      }),
    );
    expect(lines.map((line) => line.node)).toEqual(summary.perNode.map((node) => node.nodeId));
    for (const line of lines) {
      expect(line.d, `line of ${line.node ?? '?'}`).not.toBe('');
      expect(line.length, `line of ${line.node ?? '?'}`).toBeGreaterThan(0);
      expect(line.width, `line of ${line.node ?? '?'}`).toBeGreaterThan(100);
    }
  });

  it('names every node in the legend', async () => {
    const legend = await page.locator('.legend li').allTextContents();
    for (const node of summary.perNode) expect(legend.join(' ')).toContain(node.nodeId);
  });

  it('shows every interval of a long run in the page, none hidden in a scroll box', async () => {
    // Prepare: 300 intervals, far more than a screen.
    if (browser === undefined || workDir === undefined) throw new Error('no Chromium was launched');
    const files = await writeReport(join(workDir, 'long'), syntheticSummary({ intervals: 300, quietAfter: 250 }));
    // Left open: the bundled Chromium runs in one process, where closing a context can end the browser (afterAll closes it).
    const long = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });

    // Act
    await long.goto(pathToFileURL(files.html).href, { waitUntil: 'load' });
    const table = await long.locator('#intervals .table-wrap').evaluate((element) => {
      // The test's tsconfig has no DOM lib; this is the slice of HTMLElement used here.
      const box = element as unknown as { scrollHeight: number; clientHeight: number; querySelectorAll(selector: string): { length: number } };
      return { scrollHeight: box.scrollHeight, clientHeight: box.clientHeight, rows: box.querySelectorAll('tbody tr').length };
    });

    // Assess
    expect(table.rows).toBe(300);
    expect(table.scrollHeight).toBeLessThanOrEqual(table.clientHeight + 1);
    expect(table.clientHeight).toBeGreaterThan(300 * 20);
  });

  it('loads with no console error, no page error and no request but the file itself', () => {
    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(requests).toEqual([reportUrl]);
  });

  it('writes a full-page screenshot for CI and for the README', async () => {
    await mkdir(join(ROOT, 'out', 'screenshots'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    if (process.env.UPDATE_README_PICTURE === '1') await copyFile(SCREENSHOT, README_PICTURE);
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});
