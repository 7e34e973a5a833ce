import * as vega from "vega";
import { compile } from "vega-lite";
import type { VegaLiteSpec } from "./specs.js";

/** Renders a Vega-Lite spec to a static SVG string, without a browser or canvas (vega's "none" renderer). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
