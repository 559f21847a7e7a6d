/**
 * The report's stylesheet, `report.css` beside this module, read once when the module loads: the
 * page inlines it, so `renderReport` itself stays free of I/O. Nothing under `functions/` or
 * `shared/` imports `local/`, so no Lambda bundle carries the file.
 */
import { readFileSync } from 'node:fs';

/** The contents of `report.css`. */
export const STYLESHEET: string = readFileSync(new URL('./report.css', import.meta.url), 'utf8');
