/**
 * Colours for what is drawn on canvases. CSS reaches the DOM by itself, but canvas strokes need
 * concrete values: these are read from the variables in style.css (which take VS Code's theme
 * variables, with fallbacks for a plain browser) and read again when the theme changes.
 */
export interface Palette {
  background: string;
  foreground: string;
  muted: string;
  grid: string;
  map: string;
  offset: string;
  anchor: string;
  cut: string;
  good: string;
  box: string;
  uncertain: string;
  /** The placement plot's lines: x, y and scale. */
  placeX: string;
  placeY: string;
  placeScale: string;
  font: string;
}

const VARS: Record<Exclude<keyof Palette, 'font'>, string> = {
  background: '--vk-bg',
  foreground: '--vk-fg',
  muted: '--vk-muted',
  grid: '--vk-grid',
  map: '--vk-map',
  offset: '--vk-offset',
  anchor: '--vk-anchor',
  cut: '--vk-cut',
  good: '--vk-good',
  box: '--vk-box',
  uncertain: '--vk-uncertain',
  placeX: '--vk-place-x',
  placeY: '--vk-place-y',
  placeScale: '--vk-place-scale',
};

const FALLBACK: Palette = {
  background: '#1e1e1e',
  foreground: '#cccccc',
  muted: '#9d9d9d',
  grid: 'rgba(128,128,128,0.3)',
  map: '#3794ff',
  offset: '#d18616',
  anchor: '#b180d7',
  cut: '#f14c4c',
  good: '#89d185',
  box: '#cca700',
  uncertain: '#cca700',
  placeX: '#3794ff',
  placeY: '#89d185',
  placeScale: '#d18616',
  font: '12px sans-serif',
};

export function readPalette(el: Element = document.body): Palette {
  const cs = getComputedStyle(el);
  const out = { ...FALLBACK };
  for (const [k, v] of Object.entries(VARS) as [keyof typeof VARS, string][]) {
    const value = cs.getPropertyValue(v).trim();
    if (value) out[k] = value;
  }
  const size = cs.getPropertyValue('--vscode-editor-font-size').trim() || '12px';
  out.font = `${/^\d+(\.\d+)?$/.test(size) ? size + 'px' : size} ${cs.fontFamily || 'sans-serif'}`;
  return out;
}

/** `colour` at `alpha`, for any CSS colour the canvas understands (resolved through a 1×1 canvas). */
export function withAlpha(ctx: CanvasRenderingContext2D, colour: string, alpha: number): string {
  ctx.save();
  ctx.fillStyle = '#000';
  ctx.fillStyle = colour;
  const v = ctx.fillStyle;
  ctx.restore();
  const a = Math.max(0, Math.min(1, alpha));
  if (v.startsWith('#') && v.length === 7) {
    const n = parseInt(v.slice(1), 16);
    return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`;
  }
  // Canvas normalises anything with alpha to rgba(r, g, b, a).
  const m = /^rgba?\(([^,]+),([^,]+),([^,)]+)(?:,([^)]+))?\)$/.exec(v.replace(/\s+/g, ''));
  return m ? `rgba(${m[1]},${m[2]},${m[3]},${a * (m[4] ? Number(m[4]) : 1)})` : v;
}
