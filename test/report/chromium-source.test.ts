import { describe, expect, it } from 'vitest';
import { BUNDLED, ChromiumNotFoundError, SYSTEM_CHROMIUM, chromiumSource } from '../support/browser.ts';

/** A file check that knows only `paths`. */
function filesAt(...paths: string[]): (path: string) => boolean {
  return (path) => paths.includes(path);
}

describe('chromiumSource', () => {
  it('uses the binary CHROMIUM_PATH names, ahead of the machine’s Chromium', () => {
    expect(chromiumSource({ CHROMIUM_PATH: '/opt/chrome/chrome' }, filesAt('/opt/chrome/chrome', SYSTEM_CHROMIUM))).toEqual({
      kind: 'configured',
      executablePath: '/opt/chrome/chrome',
    });
  });

  it('uses the npm package’s Chromium when CHROMIUM_PATH says bundled, even beside Debian’s', () => {
    expect(chromiumSource({ CHROMIUM_PATH: BUNDLED }, filesAt(SYSTEM_CHROMIUM))).toEqual({ kind: 'bundled' });
  });

  it('refuses a CHROMIUM_PATH that does not exist, naming the variable and the path', () => {
    expect(() => chromiumSource({ CHROMIUM_PATH: '/nowhere/chromium' }, filesAt(SYSTEM_CHROMIUM))).toThrow(ChromiumNotFoundError);
    expect(() => chromiumSource({ CHROMIUM_PATH: '/nowhere/chromium' }, filesAt())).toThrow('CHROMIUM_PATH is /nowhere/chromium');
  });

  it('uses Debian’s Chromium when CHROMIUM_PATH is unset or empty and the machine has it', () => {
    expect(chromiumSource({}, filesAt(SYSTEM_CHROMIUM))).toEqual({ kind: 'system', executablePath: SYSTEM_CHROMIUM });
    expect(chromiumSource({ CHROMIUM_PATH: '' }, filesAt(SYSTEM_CHROMIUM))).toEqual({ kind: 'system', executablePath: SYSTEM_CHROMIUM });
  });

  it('falls back to the npm package’s Chromium on a machine without one', () => {
    expect(chromiumSource({}, filesAt())).toEqual({ kind: 'bundled' });
  });
});
