/**
 * Which headless Chromium the report's browser test drives, and how it is launched through
 * playwright-core. One place decides, in this order:
 *
 * 1. `CHROMIUM_PATH`, when set: a Chromium binary, or the word `bundled` to force the npm one;
 * 2. Debian's `/usr/bin/chromium`, when the machine has it;
 * 3. `@sparticuz/chromium`, a headless Chromium shipped inside the npm package (a dev dependency):
 *    `executablePath()` unpacks the package's own `bin/*.br` into the temp directory on first use
 *    and reuses it after that. Called without an argument it never downloads anything.
 *
 * So `npm ci && npm test` needs no browser from the operating system.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** The value of `CHROMIUM_PATH` that skips the machine's Chromium and uses the npm package's. */
export const BUNDLED = 'bundled';

/** Debian's `chromium` package puts its launcher here. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Flags for a desktop Chromium run headless in a container: no sandbox, no GPU, no network of its own. */
const SYSTEM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where the browser comes from: the first step of the resolution order that applied. */
export type ChromiumSource =
  | { readonly kind: 'configured'; readonly executablePath: string }
  | { readonly kind: 'system'; readonly executablePath: string }
  | { readonly kind: 'bundled' };

/** `CHROMIUM_PATH` names a binary that is not there. */
export class ChromiumNotFoundError extends Error {
  constructor(readonly executablePath: string) {
    super(`CHROMIUM_PATH is ${executablePath}, which does not exist. Point it at a Chromium binary, set it to "${BUNDLED}", or unset it.`);
    this.name = new.target.name;
  }
}

/** Picks the Chromium by the resolution order above; `exists` is the file check, injectable for tests. */
export function chromiumSource(env: NodeJS.ProcessEnv = process.env, exists: (path: string) => boolean = existsSync): ChromiumSource {
  const configured = env.CHROMIUM_PATH;
  if (configured !== undefined && configured !== '') {
    if (configured === BUNDLED) return { kind: 'bundled' };
    if (!exists(configured)) throw new ChromiumNotFoundError(configured);
    return { kind: 'configured', executablePath: configured };
  }
  if (exists(SYSTEM_CHROMIUM)) return { kind: 'system', executablePath: SYSTEM_CHROMIUM };
  return { kind: 'bundled' };
}

/** Launches a headless Chromium from `source`; each browser gets a fresh, throw-away user data dir. */
export async function launchChromium(source: ChromiumSource = chromiumSource()): Promise<Browser> {
  if (source.kind !== 'bundled') return chromium.launch({ executablePath: source.executablePath, args: [...SYSTEM_ARGS] });
  // Imported only when used: the module sets environment variables on import when it thinks it runs in Lambda.
  const { default: bundled } = await import('@sparticuz/chromium');
  return chromium.launch({ executablePath: await bundled.executablePath(), args: bundled.args, headless: true });
}
