import { escapeHtml, scriptJson } from "../report/html.js";

/** What the page knows of the data before the embeddings arrive: sizes, names and each pair's item. */
export interface ExploreMeta {
  /** The data's name (its file), shown as the title. */
  title: string;
  rows: number;
  dim: number;
  names: { a: string; b: string };
  /** Uniformity and retrieval are exact up to this many pairs, else estimated on a seeded sample (`measure --pairwise-max`). */
  pairwiseMax: number;
  /** The sample's seed. */
  seed: number;
  /** The alignment methods and scoring methods the controls offer. */
  methods: string[];
  scorings: string[];
  /** Each pair's caption (text shown as text, never as HTML). */
  captions?: (string | null)[];
  /** Each pair's image: a path under the page (served) or a data URI (self-contained). */
  images?: (string | null)[];
  /** Each pair's label, for colouring. */
  labels?: string[];
  /** Each pair's retrieval group (multi-positive retrieval). */
  groups?: number[];
  /** With a local CLIP text model: the modality a typed query belongs to, and the model's folder under the page. */
  model?: { side: "a" | "b"; path: string };
}

/** The page's parts: its script (a bundle), the worker's script (a bundle), and the data where inlined. */
export interface ExplorePageParts {
  meta: ExploreMeta;
  pageScript: string;
  /** The base64 sha256 of a text (the inline script's, for the page's content security policy). */
  sha256: (text: string) => string;
  workerScript: string;
  /** The float32 rows of A then B, base64; absent when the page fetches data.bin from its server. */
  data?: string;
}

/** A script element's text: "</script" cannot end it early (a JS string or regex reads "<\/" as "</"). */
function inlineScript(code: string): string {
  // "<!--" would switch the HTML parser into a mode where "</script" no longer ends the element
  if (code.includes("<!--")) throw new Error("explore page: a bundle contains an HTML comment opener");
  return code.replace(/<\/(script)/gi, "<\\/$1");
}

const STYLE = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--accent:#0072B2;--bg:#fff;--panel:#f7f8fa}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:12px;padding:10px 16px;border-bottom:1px solid var(--line)}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:14px 0 6px}#status{color:var(--muted)}
.layout{display:flex;flex-wrap:wrap;gap:16px;padding:12px 16px}
.plot-panel{flex:1 1 560px;min-width:300px}.side{flex:0 1 420px;min-width:300px}
.toolbar,.controls{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;margin-bottom:8px}
.controls label{display:flex;flex-direction:column;font-size:13px;color:var(--muted)}
canvas{width:100%;height:min(70vh,640px);border:1px solid var(--line);border-radius:4px;background:#fff;touch-action:none;display:block}
canvas:focus,button:focus,input:focus,select:focus{outline:3px solid #56B4E9;outline-offset:1px}
#tooltip{position:fixed;pointer-events:none;background:#fff;border:1px solid var(--line);border-radius:4px;padding:6px 8px;max-width:280px;box-shadow:0 2px 8px #0002;display:none;z-index:2}
#tooltip img,.item img{max-width:128px;max-height:128px;display:block;margin-top:4px}
.hint,.note{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:var(--panel);font-weight:600}
#neighbours{padding-left:0;list-style:none;margin:4px 0}#neighbours li{padding:3px 4px;border-bottom:1px solid var(--line);cursor:pointer}
#neighbours li.partner{background:#e8f4fb;font-weight:600}#neighbours .scores{color:var(--muted);font-size:12px;font-variant-numeric:tabular-nums}
.legend{display:flex;flex-wrap:wrap;gap:8px;font-size:12px}.swatch{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:middle}
button{font:inherit;padding:3px 10px}
`;

/** The explorer as one HTML document: styles, scripts and (self-contained) data inline; nothing fetched from elsewhere. */
export function exploreHtml(parts: ExplorePageParts): string {
  const { meta } = parts;
  const pageScript = inlineScript(parts.pageScript);
  const policy = [
    "default-src 'none'",
    `script-src 'sha256-${parts.sha256(pageScript)}' 'self' 'wasm-unsafe-eval' blob:`,
    "worker-src blob:",
    "style-src 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self' data: blob:",
  ].join("; ");
  const { a, b } = meta.names;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<link rel="icon" href="data:,"><title>gapkit explore: ${escapeHtml(meta.title)}</title><style>${STYLE}</style></head>
<body>
<header><h1>gapkit explore</h1><span>${escapeHtml(meta.title)}: ${meta.rows} pairs × ${meta.dim} (${escapeHtml(a)} / ${escapeHtml(b)})</span><span id="status" role="status" aria-live="polite">loading…</span></header>
<div class="layout">
<section class="plot-panel" aria-label="scatter of both modalities">
<div class="toolbar">
<label>colour by <select id="colour-by"><option value="modality">modality</option>${meta.labels ? '<option value="label">label</option>' : ""}</select></label>
<label><input type="checkbox" id="pair-lines"> pair lines</label>
<label>projection <select id="projection"><option value="pca">PCA (fixed frame)</option><option value="umap">UMAP (on request)</option></select></label>
<button id="reset-zoom" type="button">reset zoom</button>
<progress id="umap-progress" max="1" value="0" hidden></progress>
<div id="legend" class="legend"></div>
</div>
<canvas id="scatter" tabindex="0" aria-label="scatter: arrow keys step through items, Enter lists the neighbours"></canvas>
<p class="hint">Drag to pan, wheel to zoom, shift-drag to select a box (its pairs get the selection column; click empty space or Escape clears it), click a point for its neighbours. Keys: arrows step through items, Enter lists neighbours, + / − zoom.</p>
</section>
<aside class="side">
<h2>Alignment and scoring</h2>
<div class="controls">
<label for="lambda">gap shift λ <span><input type="range" id="lambda" min="-1" max="1" step="0.05" value="0"> <output id="lambda-value" for="lambda">0.00</output></span></label>
<label for="method">alignment<select id="method"></select></label>
<label for="fit">fitted on <span><input type="range" id="fit" min="0.1" max="0.9" step="0.05" value="0.5"> <output id="fit-value" for="fit"></output></span></label>
<label for="scoring">scoring<select id="scoring"></select></label>
</div>
<p class="note" id="split-note"></p>
<p class="note" id="sample-note"></p>
<table id="numbers" aria-label="measure numbers"><thead><tr><th>metric</th><th>all pairs</th><th>held-out</th><th>selection</th></tr></thead><tbody></tbody></table>
<h2>Item</h2>
<div class="controls"><label for="item-side">modality<select id="item-side"><option value="a">${escapeHtml(a)}</option><option value="b">${escapeHtml(b)}</option></select></label>
<label for="item-index">index<input type="number" id="item-index" min="0" max="${meta.rows - 1}" value="0"></label>
<button id="item-show" type="button">neighbours</button></div>
<div id="item" class="item"></div>
<ol id="neighbours" aria-label="nearest items of the other modality"></ol>
${
  meta.model
    ? `<h2>Query</h2><div class="controls"><label for="query-text">text<input type="text" id="query-text" size="28"></label><button id="query-embed" type="button">embed and place</button></div><div id="query-result"></div>`
    : ""
}
</aside>
</div>
<div id="tooltip" role="tooltip"></div>
<script type="application/json" id="meta">${scriptJson(meta)}</script>
<script type="text/plain" id="worker-source">${inlineScript(parts.workerScript)}</script>
${parts.data === undefined ? "" : `<script type="application/octet-stream" id="data">${parts.data}</script>`}
<script type="module">${pageScript}</script>
</body></html>
`;
}
