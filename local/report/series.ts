/** How the report tells nodes apart: a color per node, and a line pattern once the colors repeat. */
import { html, type Markup } from './markup.ts';

/** Ten hues that stay apart on white (Tableau 10, darkened where it was too pale to read). */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1', '#17a2b8', '#9c755f', '#d37295', '#6b6ecf', '#b8860b'] as const;
const DASHES = ['', '7 4', '2 3'] as const;

/** How one node's line is drawn. */
export interface SeriesStyle {
  readonly color: string;
  /** Past ten nodes the hues repeat, so the line pattern changes instead. */
  readonly dash: string;
}

/** The style of the node at `position` in registration order. */
export function seriesStyle(position: number): SeriesStyle {
  return {
    color: PALETTE[position % PALETTE.length] ?? PALETTE[0],
    dash: DASHES[Math.floor(position / PALETTE.length) % DASHES.length] ?? '',
  };
}

/** The `stroke` and `stroke-dasharray` attributes of a style. */
export function strokeAttributes(style: SeriesStyle): Markup {
  return html`stroke="${style.color}"${style.dash === '' ? '' : html` stroke-dasharray="${style.dash}"`}`;
}

/** A short sample of a node's line, for legends and tables. */
export function swatch(style: SeriesStyle): Markup {
  return html`<svg class="swatch" viewBox="0 0 24 10" width="24" height="10" aria-hidden="true"><line x1="1" x2="23" y1="5" y2="5" ${strokeAttributes(style)}/></svg>`;
}
