import type { VegaLiteSpec } from "./specs.js";

/** One block of the report: a heading, a plain-language reading, and a table, a plot or both. */
export interface ReportSection {
  title: string;
  reading?: string;
  table?: { header: string[]; rows: (string | number)[][] };
  plot?: { spec: VegaLiteSpec; svg: string };
  /** Pictures side by side, each a PNG data URI with a caption. */
  images?: { src: string; caption: string }[];
  note?: string;
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** JSON safe inside a <script type="application/json"> element (no "</script", no HTML comment openers). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#fff}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 6px;border-bottom:1px solid #e3e6ec;padding-bottom:4px}
.meta{color:#5b6475;font-size:13px}.reading{margin:6px 0 10px}.note{color:#5b6475;font-size:13px}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e3e6ec;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f5f6f9;font-weight:600}figure{margin:8px 0}svg{max-width:100%;height:auto}
.pictures{display:flex;flex-wrap:wrap;gap:12px}.picture{width:120px;text-align:center;font-size:12px}
@media print{h2{break-after:avoid}figure,table{break-inside:avoid}}
`;

function sectionHtml(s: ReportSection, index: number): string {
  const parts = [`<section><h2>${escapeHtml(s.title)}</h2>`];
  if (s.reading) parts.push(`<p class="reading">${escapeHtml(s.reading)}</p>`);
  if (s.table) {
    const head = s.table.header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
    const body = s.table.rows
      .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join("")}</tr>`)
      .join("");
    parts.push(`<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`);
  }
  if (s.plot) {
    // the SVG comes from vega's renderer, which escapes the text it draws; the spec stays in the page as data
    parts.push(`<figure class="plot" data-plot="${index}">${s.plot.svg}</figure>`);
    parts.push(
      `<script type="application/json" class="vega-lite-spec" data-plot="${index}">${scriptJson(s.plot.spec)}</script>`,
    );
  }
  if (s.images) {
    // only PNG data URIs: the page fetches nothing, and its policy allows no other source
    const pictures = s.images
      .filter(({ src }) => /^data:image\/png;base64,[A-Za-z0-9+/=]+$/.test(src))
      .map(
        ({ src, caption }) =>
          `<figure class="picture"><img src="${src}" alt="${escapeHtml(caption)}" width="64" height="64"><figcaption>${escapeHtml(caption)}</figcaption></figure>`,
      );
    parts.push(`<div class="pictures">${pictures.join("")}</div>`);
  }
  if (s.note) parts.push(`<p class="note">${escapeHtml(s.note)}</p>`);
  parts.push("</section>");
  return parts.join("\n");
}

/** One self-contained HTML page: inline styles and SVG plots, no scripts to run, nothing fetched. */
export function reportHtml(title: string, sections: ReportSection[], meta: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main><h1>${escapeHtml(title)}</h1><p class="meta">${escapeHtml(meta)}</p>
${sections.map(sectionHtml).join("\n")}
</main></body></html>
`;
}
