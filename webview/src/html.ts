/**
 * The preview page. The extension imports this module (it must stay free of DOM code) and fills in
 * the webview's URIs; tests build the same page for a plain browser.
 */
export interface PreviewHtmlOptions {
  /** URI of dist/webview/main.js as the webview may load it (`webview.asWebviewUri`). */
  scriptUri: string;
  /** URI of dist/webview/main.css. */
  styleUri: string;
  /** `webview.cspSource`: the only origin scripts, styles and images may come from. */
  cspSource: string;
  /** Fresh per page load: only the script tag carrying it runs. */
  nonce: string;
}

/**
 * The policy: nothing by default; scripts, styles and images only from the webview's own source
 * (images also as data: URLs, which is how frames arrive); the one script tag by nonce. No inline
 * styles: the web components style themselves through constructed stylesheets, which CSP does not
 * govern, and the page sets sizes through the CSSOM, which it does not either.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src ${cspSource} 'nonce-${nonce}'`,
  ].join('; ');
}

export function previewHtml(o: PreviewHtmlOptions): string {
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(o.nonce)) throw new Error('previewHtml: the nonce must be at least 16 base64 characters');
  const a = escapeAttr;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${a(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${a(o.styleUri)}">
<title>vidkompy preview</title>
</head>
<body>
<header class="bar" role="toolbar" aria-label="Alignment">
  <span id="title" class="title">vidkompy preview</span>
  <span id="stale" class="badge" hidden>stale</span>
  <span id="provisional" class="badge" hidden title="The first pass's map: the alignment is still being refined, and replaces it when done">coarse map</span>
  <span class="group end">
    <vscode-button id="realign" secondary aria-label="Align again">Re-align</vscode-button>
    <vscode-button id="reveal" secondary aria-label="Show the project file">Project file</vscode-button>
  </span>
</header>
<div id="summary" class="line muted"></div>
<vscode-progress-bar id="busy" hidden aria-label="Re-aligning"></vscode-progress-bar>
<div id="status" class="status line" role="status" aria-live="polite"></div>
<main hidden>
<section id="plot-section" aria-labelledby="plot-heading">
  <div class="bar">
    <h2 id="plot-heading">Drift</h2>
    <span id="hover" class="readout muted" aria-hidden="true"></span>
    <span class="group end" role="group" aria-label="Zoom">
      <vscode-button id="zoom-in" secondary aria-label="Zoom in">+</vscode-button>
      <vscode-button id="zoom-out" secondary aria-label="Zoom out">−</vscode-button>
      <vscode-button id="zoom-fit" secondary aria-label="Show the whole map">Fit</vscode-button>
    </span>
  </div>
  <div id="plot" class="plot" tabindex="0" role="application" aria-roledescription="drift plot"
    aria-label="Drift plot: bg time against fg time, and the offset. Left and right arrows move the frame, plus and minus zoom, 0 shows everything, shift with the arrows pans; click a point to go to its frame, drag to zoom to a stretch, double-click to show everything."></div>
  <ul id="legend" class="legend" aria-label="Legend"></ul>
</section>
<section id="placement-section" aria-labelledby="placement-heading" hidden>
  <div class="bar slim">
    <h2 id="placement-heading">Placement</h2>
    <span id="placement-now" class="readout muted"></span>
  </div>
  <div id="placement-plot" class="plot placement" role="img" aria-roledescription="placement plot" aria-label="Placement over fg time"></div>
  <ul id="placement-legend" class="legend" aria-label="Placement legend"></ul>
</section>
<section id="frame-section" aria-labelledby="frame-heading">
  <div class="bar">
    <h2 id="frame-heading">Frame</h2>
    <input id="scrubber" class="scrubber" type="range" min="0" max="0" step="1" value="0" aria-label="fg frame" disabled>
    <vscode-button id="pin" aria-label="Pin: add an anchor that keeps this fg frame on this bg frame" disabled>Pin</vscode-button>
  </div>
  <output id="position" class="line readout" for="scrubber" aria-live="polite"></output>
  <div class="bar">
    <div id="mode" class="segmented" role="radiogroup" aria-label="How to show fg over bg">
      <label class="segment"><input type="radio" name="mode" value="composite">Composite</label>
      <label class="segment"><input type="radio" name="mode" value="side">Side by side</label>
      <label class="segment"><input type="radio" name="mode" value="onion">Onion skin</label>
      <label class="segment"><input type="radio" name="mode" value="difference">Difference</label>
    </div>
    <label id="opacity-group" class="group opacity" hidden>Opacity
      <input id="opacity" type="range" min="0" max="1" step="0.05" value="0.5" aria-label="Onion-skin opacity of fg">
    </label>
  </div>
  <div id="frame-box" class="frame-box">
    <div id="panes" class="panes" hidden>
      <span id="pane-fg" class="pane-label"></span><span id="pane-bg" class="pane-label"></span>
    </div>
    <canvas id="frame" width="0" height="0" role="img" aria-label="fg over its bg frame"></canvas>
  </div>
</section>
</main>
<script nonce="${a(o.nonce)}" src="${a(o.scriptUri)}"></script>
</body>
</html>
`;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
