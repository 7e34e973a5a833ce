import type { VegaLiteSpec } from "./specs.js";

/**
 * Renders a Vega-Lite spec to a static SVG string, without a browser or canvas (vega's "none" renderer).
 * vega and vega-lite load on first use: they are most of the CLI's start-up time otherwise.
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
