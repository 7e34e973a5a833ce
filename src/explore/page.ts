// The explorer page: controls, the scatter and the tables; the worker computes every number.
import type { MeasureResult } from "../gap/measure.js";
import { type ClipModel, embedTexts, loadClipModel } from "../io/embed.js";
import type { ExploreMeta } from "./html.js";
import type { ExploreReply, ExploreRequest, ViewReply } from "./protocol.js";
import type { ExploreSettings, Neighbour } from "./session.js";

/** Okabe–Ito: distinguishable under the common colour-vision deficiencies. */
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

const meta = JSON.parse(byId("meta").textContent!) as ExploreMeta;
const n = meta.rows;
const names = meta.names;

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function status(text: string): void {
  byId("status").textContent = text;
}

// ---- the worker ----

const worker = new Worker(
  URL.createObjectURL(new Blob([byId("worker-source").textContent!], { type: "text/javascript" })),
);
let nextId = 1;
const waiting = new Map<number, (reply: ExploreReply) => void>();

/** A request as the page writes it: send() numbers it. */
type Unnumbered<R> = R extends { id: number } ? Omit<R, "id"> : never;

function send(request: Unnumbered<ExploreRequest>): Promise<ExploreReply> {
  const id = nextId++;
  const reply = new Promise<ExploreReply>((resolve) => waiting.set(id, resolve));
  worker.postMessage({ ...request, id });
  return reply;
}

worker.onerror = (event) => status(`error: ${event.message}`);

worker.onmessage = (event: MessageEvent<ExploreReply>) => {
  const reply = event.data;
  if (reply.type === "ready") return onReady(reply);
  if (reply.type === "umap-progress") {
    const bar = byId<HTMLProgressElement>("umap-progress");
    bar.value = reply.epoch / reply.epochs;
    status(`UMAP: epoch ${reply.epoch} of ${reply.epochs}`);
    return;
  }
  if (reply.type === "error") status(`error: ${reply.message}`);
  const resolve = reply.id === undefined ? undefined : waiting.get(reply.id);
  if (reply.id !== undefined) waiting.delete(reply.id);
  resolve?.(reply);
};

async function loadData(): Promise<Float32Array> {
  const inline = document.getElementById("data");
  if (!inline) {
    const response = await fetch("data.bin");
    if (!response.ok) throw new Error(`data.bin: HTTP ${response.status}`);
    return new Float32Array(await response.arrayBuffer());
  }
  const text = inline.textContent!;
  const native = (Uint8Array as { fromBase64?: (text: string) => Uint8Array }).fromBase64;
  if (native) return new Float32Array(native(text).buffer);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

// ---- the scatter ----

interface Transform {
  scale: number;
  x: number;
  y: number;
}

const canvas = byId<HTMLCanvasElement>("scatter");
const context = canvas.getContext("2d")!;
let points: Float64Array<ArrayBufferLike> = new Float64Array(0);
let pcaPoints: Float64Array<ArrayBufferLike> = new Float64Array(0);
let umapPoints: Float64Array<ArrayBufferLike> | undefined;
let base: Transform = { scale: 1, x: 0, y: 0 };
let zoom: Transform = { scale: 1, x: 0, y: 0 };
let selected = new Set<number>();
let focus: { side: "a" | "b"; index: number } | undefined;
let neighbourIndices: number[] = [];
let queryPoint: [number, number] | undefined;

/** Point k is row k of A for k < n, else row k − n of B. */
function pointOf(side: "a" | "b", index: number): number {
  return side === "a" ? index : n + index;
}

function fitTransform(p: Float64Array): Transform {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let k = 0; k < p.length; k += 2) {
    x0 = Math.min(x0, p[k]);
    x1 = Math.max(x1, p[k]);
    y0 = Math.min(y0, p[k + 1]);
    y1 = Math.max(y1, p[k + 1]);
  }
  const { width, height } = canvasSize();
  const scale = 0.9 * Math.min(width / (x1 - x0 || 1), height / (y1 - y0 || 1));
  return { scale, x: width / 2 - (scale * (x0 + x1)) / 2, y: height / 2 + (scale * (y0 + y1)) / 2 };
}

function canvasSize(): { width: number; height: number } {
  return { width: canvas.clientWidth, height: canvas.clientHeight };
}

function screen(k: number): [number, number] {
  const s = base.scale * zoom.scale;
  return [
    zoom.x + zoom.scale * base.x + s * points[2 * k],
    zoom.y + zoom.scale * base.y - s * points[2 * k + 1],
  ];
}

function colourOf(k: number): string {
  if (byId<HTMLSelectElement>("colour-by").value === "label" && meta.labels) {
    const label = meta.labels[k % n];
    return PALETTE[labelIndex.get(label)! % PALETTE.length];
  }
  return k < n ? PALETTE[0] : PALETTE[1];
}

const labelIndex = new Map((meta.labels ? [...new Set(meta.labels)] : []).map((l, i) => [l, i]));

function draw(): void {
  const ratio = window.devicePixelRatio || 1;
  const { width, height } = canvasSize();
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  if (!points.length) return;
  if (byId<HTMLInputElement>("pair-lines").checked) {
    context.strokeStyle = "#9aa3b255";
    context.beginPath();
    for (let i = 0; i < n; i++) {
      const [x0, y0] = screen(i);
      const [x1, y1] = screen(n + i);
      context.moveTo(x0, y0);
      context.lineTo(x1, y1);
    }
    context.stroke();
  }
  const dim = selected.size > 0;
  for (let k = 0; k < 2 * n; k++) {
    const [x, y] = screen(k);
    context.globalAlpha = dim && !selected.has(k) ? 0.15 : 0.75;
    context.fillStyle = colourOf(k);
    context.strokeStyle = colourOf(k);
    // shape tells the modalities apart where colour shows labels: A filled discs, B rings
    context.beginPath();
    context.arc(x, y, 3, 0, 2 * Math.PI);
    if (k < n) context.fill();
    else context.stroke();
  }
  context.globalAlpha = 1;
  const ring = (k: number, colour: string, radius: number) => {
    const [x, y] = screen(k);
    context.strokeStyle = colour;
    context.lineWidth = 2;
    context.beginPath();
    context.arc(x, y, radius, 0, 2 * Math.PI);
    context.stroke();
    context.lineWidth = 1;
  };
  if (focus) {
    const other = focus.side === "a" ? "b" : "a";
    for (const j of neighbourIndices) ring(pointOf(other, j), "#000", 6);
    ring(pointOf(other, focus.index), PALETTE[2], 9);
    ring(pointOf(focus.side, focus.index), "#D55E00", 8);
  }
  if (queryPoint) {
    const s = base.scale * zoom.scale;
    const x = zoom.x + zoom.scale * base.x + s * queryPoint[0];
    const y = zoom.y + zoom.scale * base.y - s * queryPoint[1];
    context.fillStyle = "#000";
    context.fillRect(x - 5, y - 5, 10, 10);
  }
  if (box) {
    context.strokeStyle = "#0072B2";
    context.strokeRect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
  }
}

function legend(): void {
  const entries =
    byId<HTMLSelectElement>("colour-by").value === "label" && meta.labels
      ? [...labelIndex].map(([label, i]) => [label, PALETTE[i % PALETTE.length]])
      : [
          [`${names.a} (discs)`, PALETTE[0]],
          [`${names.b} (rings)`, PALETTE[1]],
        ];
  byId("legend").replaceChildren(
    ...entries.slice(0, 16).map(([label, colour]) => {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour;
      item.append(swatch, label);
      return item;
    }),
  );
}

/** The point nearest to (x, y) in screen pixels, within 8 px. */
function pick(x: number, y: number): number | undefined {
  let best: number | undefined;
  let bestDistance = 64;
  for (let k = 0; k < 2 * n; k++) {
    const [px, py] = screen(k);
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

let drag: { x: number; y: number; moved: boolean; select: boolean } | undefined;
let box: { x0: number; y0: number; x1: number; y1: number } | undefined;

function local(event: MouseEvent): [number, number] {
  const r = canvas.getBoundingClientRect();
  return [event.clientX - r.left, event.clientY - r.top];
}

canvas.addEventListener("pointerdown", (event) => {
  const [x, y] = local(event);
  drag = { x, y, moved: false, select: event.shiftKey };
  canvas.setPointerCapture(event.pointerId);
});
canvas.addEventListener("pointermove", (event) => {
  const [x, y] = local(event);
  if (!drag) return hover(event, x, y);
  if (Math.abs(x - drag.x) + Math.abs(y - drag.y) > 3) drag.moved = true;
  if (drag.select)
    box = {
      x0: Math.min(drag.x, x),
      y0: Math.min(drag.y, y),
      x1: Math.max(drag.x, x),
      y1: Math.max(drag.y, y),
    };
  else {
    zoom = { ...zoom, x: zoom.x + x - drag.x, y: zoom.y + y - drag.y };
    drag.x = x;
    drag.y = y;
  }
  draw();
});
canvas.addEventListener("pointerup", (event) => {
  const [x, y] = local(event);
  const was = drag;
  drag = undefined;
  if (was?.select && box) {
    selectBox(box);
    box = undefined;
  } else if (was && !was.moved) {
    const k = pick(x, y);
    if (k !== undefined) void showItem(k < n ? "a" : "b", k % n);
    else clearSelection();
  }
  draw();
});
canvas.addEventListener("pointerleave", () => (byId("tooltip").style.display = "none"));
canvas.addEventListener(
  "wheel",
  (event) => {
    event.preventDefault();
    const [x, y] = local(event);
    zoomAt(x, y, Math.exp(-event.deltaY / 500));
  },
  { passive: false },
);
canvas.addEventListener("keydown", (event) => {
  const { width, height } = canvasSize();
  if (event.key === "+" || event.key === "=") zoomAt(width / 2, height / 2, 1.25);
  else if (event.key === "-") zoomAt(width / 2, height / 2, 0.8);
  else if (event.key === "ArrowRight" || event.key === "ArrowDown") stepItem(1);
  else if (event.key === "ArrowLeft" || event.key === "ArrowUp") stepItem(-1);
  else if (event.key === "Enter") void showItem(itemSide(), itemIndex());
  else if (event.key === "Escape") clearSelection();
  else return;
  event.preventDefault();
});

function zoomAt(x: number, y: number, factor: number): void {
  zoom = { scale: zoom.scale * factor, x: x - (x - zoom.x) * factor, y: y - (y - zoom.y) * factor };
  draw();
}

function stepItem(by: number): void {
  const input = byId<HTMLInputElement>("item-index");
  input.value = String((itemIndex() + by + n) % n);
  void showItem(itemSide(), itemIndex());
}

function itemSide(): "a" | "b" {
  return byId<HTMLSelectElement>("item-side").value as "a" | "b";
}

function itemIndex(): number {
  const value = Math.trunc(Number(byId<HTMLInputElement>("item-index").value));
  return Number.isFinite(value) ? Math.min(Math.max(value, 0), n - 1) : 0;
}

/** A pair's caption and image as DOM nodes (text nodes: captions and labels never parse as HTML). */
function describe(side: "a" | "b", index: number): Node[] {
  const title = document.createElement("strong");
  title.textContent = `${side === "a" ? names.a : names.b} #${index}`;
  const nodes: Node[] = [title];
  const caption = meta.captions?.[index];
  if (caption) nodes.push(document.createElement("br"), document.createTextNode(caption));
  const label = meta.labels?.[index];
  if (label !== undefined)
    nodes.push(document.createElement("br"), document.createTextNode(`label: ${label}`));
  const image = meta.images?.[index];
  if (image) {
    const img = document.createElement("img");
    img.src = image;
    img.alt = caption ?? `image of pair ${index}`;
    nodes.push(img);
  }
  return nodes;
}

function hover(event: MouseEvent, x: number, y: number): void {
  const tip = byId("tooltip");
  const k = pick(x, y);
  if (k === undefined) {
    tip.style.display = "none";
    return;
  }
  tip.replaceChildren(...describe(k < n ? "a" : "b", k % n));
  tip.style.display = "block";
  tip.style.left = `${event.clientX + 14}px`;
  tip.style.top = `${event.clientY + 14}px`;
}

// ---- numbers ----

const ROWS: [string, string, (r: MeasureResult) => number][] = [
  [`gap L2M ‖mean ${names.a} − mean ${names.b}‖`, "gap.l2m", (r) => r.gap.l2m],
  ["relative modality gap", "gap.rmg", (r) => r.gap.rmg],
  [`cone cosine ${names.a}`, "cone.a", (r) => r.cone.a],
  [`cone cosine ${names.b}`, "cone.b", (r) => r.cone.b],
  ["mean paired cosine", "pairedCos", (r) => r.pairedCos],
  ["alignment ‖a − b‖²", "alignment", (r) => r.alignment],
  [`uniformity ${names.a}`, "uniformity.a", (r) => r.uniformity.a],
  [`uniformity ${names.b}`, "uniformity.b", (r) => r.uniformity.b],
  [`${names.a}→${names.b} R@1`, "retrieval.aToB.r1", (r) => r.retrieval.aToB.r1],
  [`${names.a}→${names.b} R@5`, "retrieval.aToB.r5", (r) => r.retrieval.aToB.r5],
  [`${names.a}→${names.b} R@10`, "retrieval.aToB.r10", (r) => r.retrieval.aToB.r10],
  [`${names.b}→${names.a} R@1`, "retrieval.bToA.r1", (r) => r.retrieval.bToA.r1],
  [`${names.b}→${names.a} R@5`, "retrieval.bToA.r5", (r) => r.retrieval.bToA.r5],
  [`${names.b}→${names.a} R@10`, "retrieval.bToA.r10", (r) => r.retrieval.bToA.r10],
  ["variance along the gap", "spectrum.gapVarianceFraction", (r) => r.spectrum.gapVarianceFraction],
];
const COLUMNS = ["all", "heldOut", "selection"] as const;

function buildNumbers(): void {
  byId("numbers")
    .querySelector("tbody")!
    .replaceChildren(
      ...ROWS.map(([label, key]) => {
        const tr = document.createElement("tr");
        const th = document.createElement("td");
        th.textContent = label;
        tr.append(
          th,
          ...COLUMNS.map((column) => {
            const td = document.createElement("td");
            td.dataset.key = key;
            td.dataset.set = column;
            td.textContent = column === "selection" ? "–" : "…";
            return td;
          }),
        );
        return tr;
      }),
    );
}

/** Shows a column's numbers; each cell keeps the full-precision value in data-value. */
function showNumbers(column: (typeof COLUMNS)[number], result: MeasureResult | undefined): void {
  for (const [, key, value] of ROWS) {
    const td = byId("numbers").querySelector<HTMLElement>(`td[data-key="${key}"][data-set="${column}"]`)!;
    if (!result) {
      td.textContent = "–";
      delete td.dataset.value;
      continue;
    }
    const v = value(result);
    td.dataset.value = String(v);
    td.textContent = v.toFixed(key.startsWith("retrieval") ? 3 : 4);
  }
}

// ---- controls ----

function settings(): ExploreSettings {
  return {
    method: byId<HTMLSelectElement>("method").value,
    fit: Number(byId<HTMLInputElement>("fit").value),
    lambda: Number(byId<HTMLInputElement>("lambda").value),
    scoring: byId<HTMLSelectElement>("scoring").value as ExploreSettings["scoring"],
  };
}

let latestView = 0;
let view: ViewReply | undefined;

async function refresh(): Promise<void> {
  const s = settings();
  byId("lambda-value").textContent = s.lambda.toFixed(2);
  byId("fit-value").textContent = `${Math.round(s.fit * 100)} %`;
  const request = send({ type: "view", settings: s });
  latestView = nextId - 1;
  const reply = await request;
  if (reply.type !== "view" || reply.id !== latestView) return;
  view = reply;
  const held = n - reply.fitRows;
  byId("split-note").textContent =
    `${s.method === "none" ? "No alignment" : `${s.method} fitted`}; the scorer is fitted on pairs 0–${reply.fitRows - 1} (${reply.fitRows}); ` +
    `held-out: pairs ${reply.fitRows}–${n - 1} (${held}), never seen by a fit. λ moves both modalities by ±½λ·Δ, Δ the gap vector of all pairs (as gapkit shift).`;
  showNumbers("all", reply.all);
  showNumbers("heldOut", reply.heldOut);
  const sampled = [reply.all.sample, reply.heldOut.sample].filter((x) => x !== undefined);
  byId("sample-note").textContent = sampled.length
    ? `Uniformity, R@k and the variance along the gap are estimates on a seeded sample of ${meta.pairwiseMax} pairs per column (--pairwise-max ${meta.pairwiseMax} --seed ${meta.seed}); every other number is exact.`
    : "";
  pcaPoints = points = reply.points;
  umapPoints = undefined;
  const projection = byId<HTMLSelectElement>("projection");
  if (projection.value === "umap") {
    // a UMAP of the earlier settings would mislead: back to the fixed frame until it is asked for again
    projection.value = "pca";
    base = fitTransform(points);
    zoom = { scale: 1, x: 0, y: 0 };
  }
  status(`ready: ${n} pairs, view λ = ${s.lambda.toFixed(2)}, ${s.method}, ${s.scoring}`);
  document.body.dataset.view = JSON.stringify(reply.settings);
  if (selected.size) await measureSelected();
  if (focus) await showItem(focus.side, focus.index);
  draw();
}

async function measureSelected(): Promise<void> {
  const pairs = [...new Set([...selected].map((k) => k % n))].sort((x, y) => x - y);
  if (pairs.length < 2) return showNumbers("selection", undefined);
  const reply = await send({ type: "selection", indices: Int32Array.from(pairs) });
  if (reply.type === "selection") showNumbers("selection", reply.result);
}

function selectBox(b: { x0: number; y0: number; x1: number; y1: number }): void {
  selected = new Set();
  for (let k = 0; k < 2 * n; k++) {
    const [x, y] = screen(k);
    if (x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1) selected.add(k);
  }
  status(`selected ${selected.size} points (${new Set([...selected].map((k) => k % n)).size} pairs)`);
  void measureSelected();
}

function clearSelection(): void {
  if (!selected.size) return;
  selected = new Set();
  showNumbers("selection", undefined);
  draw();
}

async function showItem(side: "a" | "b", index: number): Promise<void> {
  focus = { side, index };
  byId<HTMLSelectElement>("item-side").value = side;
  byId<HTMLInputElement>("item-index").value = String(index);
  byId("item").replaceChildren(...describe(side, index));
  const reply = await send({ type: "neighbours", side, index });
  if (reply.type !== "neighbours" || focus.side !== side || focus.index !== index) return;
  neighbourIndices = reply.matches.map((m) => m.index);
  showNeighbours(byId("neighbours"), side === "a" ? "b" : "a", reply.matches, index);
  draw();
}

function showNeighbours(
  list: HTMLElement,
  gallerySide: "a" | "b",
  matches: Neighbour[],
  partner?: number,
): void {
  const scoring = view?.settings.scoring ?? "raw";
  list.replaceChildren(
    ...matches.map((m, rank) => {
      const li = document.createElement("li");
      li.dataset.index = String(m.index);
      li.dataset.score = String(m.score);
      li.dataset.cosine = String(m.cosine);
      li.dataset.probability = String(m.probability);
      li.tabIndex = 0;
      if (m.index === partner) li.className = "partner";
      const head = document.createElement("div");
      head.textContent = `${rank + 1}. ${gallerySide === "a" ? names.a : names.b} #${m.index}${m.index === partner ? " — true partner" : ""}${meta.captions?.[m.index] ? `: ${meta.captions[m.index]}` : ""}`;
      const scores = document.createElement("div");
      scores.className = "scores";
      scores.textContent = `cosine ${m.cosine.toFixed(4)} · ${scoring} ${m.score.toFixed(4)} · P(match) ${m.probability.toFixed(3)}${m.match ? " · match" : ""}`;
      li.append(head, scores);
      const open = () => void showItem(gallerySide, m.index);
      li.addEventListener("click", open);
      li.addEventListener("keydown", (event) => event.key === "Enter" && open());
      return li;
    }),
  );
}

async function computeUmap(): Promise<void> {
  const bar = byId<HTMLProgressElement>("umap-progress");
  bar.hidden = false;
  bar.value = 0;
  const reply = await send({ type: "umap" });
  bar.hidden = true;
  if (reply.type !== "umap") return;
  umapPoints = reply.points;
  if (byId<HTMLSelectElement>("projection").value !== "umap") return;
  points = umapPoints;
  base = fitTransform(points);
  zoom = { scale: 1, x: 0, y: 0 };
  status(`UMAP of ${2 * n} points (seeded; neighbourhoods kept, distances between clusters not)`);
  draw();
}

async function embedQuery(): Promise<void> {
  if (!meta.model) return;
  const text = byId<HTMLInputElement>("query-text").value.trim();
  if (!text) return;
  status("embedding the query…");
  const vector = await embedText(text, meta.model.path);
  const reply = await send({ type: "place", side: meta.model.side, vector });
  if (reply.type !== "place") return;
  queryPoint = reply.point;
  const list = document.createElement("ol");
  list.id = "query-neighbours";
  showNeighbours(list, meta.model.side === "a" ? "b" : "a", reply.matches);
  byId("query-result").replaceChildren(list);
  status(`query placed (black square)`);
  draw();
}

/** The CLIP text embedding of a query, in the browser (transformers.js and the model, both served by gapkit explore). */
async function embedText(text: string, modelPath: string): Promise<Float32Array> {
  const transformers = await import(/* @vite-ignore */ new URL("transformers.js", location.href).href);
  transformers.env.backends.onnx.wasm.wasmPaths = new URL("ort/", location.href).href;
  model ??= loadClipModel(new URL(modelPath, location.href).pathname, ["text"], transformers);
  return (await embedTexts(await model, [text])).data;
}

let model: Promise<ClipModel> | undefined;

function onReady(reply: Extract<ExploreReply, { type: "ready" }>): void {
  pcaPoints = points = reply.points;
  base = fitTransform(points);
  document.body.dataset.pcaSeconds = String(reply.seconds);
  status(`PCA ready (${reply.backend}, ${reply.threads} thread${reply.threads > 1 ? "s" : ""}); measuring…`);
  draw();
  void refresh();
}

function fillSelect(id: string, values: string[], first?: string): void {
  byId(id).replaceChildren(
    ...[...(first ? [first] : []), ...values].map((v) => {
      const option = document.createElement("option");
      option.value = option.textContent = v;
      return option;
    }),
  );
}

async function start(): Promise<void> {
  fillSelect("method", meta.methods, "none");
  fillSelect("scoring", meta.scorings);
  buildNumbers();
  legend();
  for (const id of ["lambda", "fit"]) byId(id).addEventListener("input", () => void refresh());
  for (const id of ["method", "scoring"]) byId(id).addEventListener("change", () => void refresh());
  byId("colour-by").addEventListener("change", () => {
    legend();
    draw();
  });
  byId("pair-lines").addEventListener("change", draw);
  byId("reset-zoom").addEventListener("click", () => {
    zoom = { scale: 1, x: 0, y: 0 };
    draw();
  });
  byId("projection").addEventListener("change", () => {
    if (byId<HTMLSelectElement>("projection").value === "umap") {
      if (umapPoints) points = umapPoints;
      else return void computeUmap();
    } else points = pcaPoints;
    base = fitTransform(points);
    zoom = { scale: 1, x: 0, y: 0 };
    draw();
  });
  byId("item-show").addEventListener("click", () => void showItem(itemSide(), itemIndex()));
  byId("item-index").addEventListener(
    "keydown",
    (event) => event.key === "Enter" && void showItem(itemSide(), itemIndex()),
  );
  if (meta.model) {
    byId("query-embed").addEventListener(
      "click",
      () => void embedQuery().catch((e) => status(`query: ${e.message}`)),
    );
    byId("query-text").addEventListener("keydown", (event) => event.key === "Enter" && void embedQuery());
  }
  window.addEventListener("resize", () => {
    base = fitTransform(points);
    draw();
  });
  const data = await loadData();
  const expected = 2 * n * meta.dim;
  if (data.length !== expected)
    throw new Error(`data: ${expected} float32 values expected; got ${data.length}`);
  const a = data.slice(0, n * meta.dim);
  const b = data.slice(n * meta.dim);
  worker.postMessage(
    {
      type: "open",
      rows: n,
      dim: meta.dim,
      a,
      b,
      ...(meta.groups ? { groups: Int32Array.from(meta.groups) } : {}),
      pairwiseMax: meta.pairwiseMax,
      seed: meta.seed,
    } satisfies ExploreRequest,
    [a.buffer, b.buffer],
  );
}

/** For automation (the browser tests): where item `index` of modality `side` is drawn, in client pixels. */
(window as unknown as { gapkitExplore: object }).gapkitExplore = {
  locate(side: "a" | "b", index: number): [number, number] {
    const [x, y] = screen(pointOf(side, index));
    const r = canvas.getBoundingClientRect();
    return [r.left + x, r.top + y];
  },
};

start().catch((e: Error) => status(`error: ${e.message}`));
