import { argmin } from "../core/matrix.js";
import type { MeasureResult } from "../gap/measure.js";
import type { LossLandscape } from "../losses/landscape.js";
import type { AlbefResult } from "../sim/albef.js";
import { DECODE_COLUMNS, type DecodeResult, decodeCells } from "../sim/decode.js";
import { formatMeanSd } from "../sim/experiment.js";
import type { ExperimentName } from "../sim/index.js";
import { TRANSFER_COLUMNS, type TransferResult, transferCells } from "../sim/transfer.js";
import { measureRows } from "./commands/measure.js";
import { fixed, fraction, MARK, marked, short, sigColumn, table } from "./table.js";

/** An experiment's parameters as a table sees them: resolved values, but file inputs as the paths given. */
export type TableParams = Readonly<Record<string, unknown>>;

/** Renders an experiment's JSON result as the text `gapkit experiment NAME` prints. */
export type ExperimentTable = (result: unknown, params: TableParams) => string;

// each experiment's result, as its run() returns it
interface ConeMlp {
  inputCosine: number;
  layers: { layer: number; meanCosine: number; std: number; min: number; max: number }[];
}
interface ConeInits {
  perModelCone: number[];
  meanCone: number;
  meanCentroidCosineBetweenModels: number;
  pca: { model: number; x: number; y: number }[];
}
interface Point {
  centroidDistance: number;
  loss: number;
}
interface Sphere {
  labels: number[];
  curves: { scale: number; points: (Point & { theta: number })[] }[];
  training: { scale: number; gap: (Point & { step: number })[] }[];
}
interface Mismatch {
  runs: { swapped: boolean; scale: number; z: number[]; loss: number[] }[];
}
interface Shift {
  lambda: number;
  delta?: number;
}
interface ShiftEval {
  source: string;
  validationImages: number;
  testImages: number;
  sweep: (Shift & { validationAccuracy: number; testAccuracy: number })[];
}
interface Fairness {
  source: string;
  harmful: number[];
  sweep: (Shift & { groups: { group: number; images: number; harmfulRate: number }[]; disparity: number })[];
}
interface TrainTemperature {
  heldOutPairs: number;
  runs: { temperature: number; gap: number; r1: number; zeroShotAccuracy: number; loss: number }[];
}
interface Agreement {
  aToB: number;
  bToA: number;
}
interface Bind {
  heldOutPairs: number;
  chance: number;
  untrainedB: Agreement;
  emergent: Agreement;
}

const typed =
  <R>(render: (result: R, params: TableParams) => string): ExperimentTable =>
  (result, params) =>
    render(result as R, params);

/** Cells of `values` (one column of a sweep), formatted together, with the marker on the first smallest. */
function markMin(values: number[], format: (column: number[]) => string[]): string[] {
  const best = argmin(values);
  return format(values).map((cell, i) => marked(cell, i === best));
}

/** Rows × columns of `cells`, transposed (a sweep is computed per column, printed per row). */
const transpose = (columns: string[][]): string[][] => columns[0].map((_, i) => columns.map((c) => c[i]));

/** The λ (and, for distances along the unit gap direction, δ) header and cells of a gap-shift sweep. */
function shiftColumns(sweep: Shift[]): { header: string[]; cells: string[][] } {
  const unit = sweep.some((s) => s.delta !== undefined);
  return {
    header: unit ? ["δ", "λ"] : ["λ"],
    cells: sweep.map((s) => (unit ? [short(s.delta!), short(s.lambda)] : [short(s.lambda)])),
  };
}

function coneMlp(r: ConeMlp, p: TableParams): string {
  return table(
    [
      ["input", fixed(r.inputCosine), "", "", ""],
      ...r.layers.map((l) => [String(l.layer), ...[l.meanCosine, l.std, l.min, l.max].map((x) => fixed(x))]),
    ],
    {
      header: ["layer", "mean cosine", "std", "min", "max"],
      notes: [
        `mean cosine between the outputs, over ${p.models} random MLPs (${p.activation}, ${p.bias ? "with" : "no"} bias); std, min, max: across the MLPs`,
      ],
    },
  );
}

function coneInits(r: ConeInits): string {
  const models = r.perModelCone.length;
  const centre = (m: number, axis: "x" | "y") => {
    const own = r.pca.filter((q) => q.model === m);
    return fixed(own.reduce((s, q) => s + q[axis], 0) / own.length);
  };
  return table(
    r.perModelCone.map((cone, m) => [String(m), fixed(cone), centre(m, "x"), centre(m, "y")]),
    {
      header: ["model", "cone (mean cosine)", "PCA centre x", "PCA centre y"],
      notes: [
        `mean cone ${fixed(r.meanCone)}; mean cosine between the models' centroids ${fixed(r.meanCentroidCosineBetweenModels)}`,
        `PCA centre: the mean of a model's ${r.pca.length / models} points in the joint 2-D PCA (every point: --json)`,
      ],
    },
  );
}

function initGap(r: { first: MeasureResult; second: MeasureResult }, p: TableParams): string {
  const [first, second] = [measureRows(r.first), measureRows(r.second)];
  return table(
    first.map(([label, value], i) => [label, value, second[i][1]]),
    { header: ["", String(p.first), String(p.second)], textColumns: 3 },
  );
}

function landscape(r: LossLandscape): string {
  const lambdas = r.lambdas.map((lambda, i) => ({ lambda, delta: r.deltas?.[i] }));
  const { header, cells } = shiftColumns(lambdas);
  const losses = transpose(
    r.temperatures.map((_, j) =>
      markMin(
        r.loss.map((row) => row[j]),
        sigColumn,
      ),
    ),
  );
  return table(
    cells.map((c, i) => [...c, ...losses[i]]),
    {
      header: [...header, ...r.temperatures.map((t) => `τ=${short(t)}`)],
      notes: [`CLIP loss after shifting the pairs by λ along the gap; ${MARK} least loss at each τ`],
    },
  );
}

function sphere(r: Sphere, p: TableParams): string {
  const scales = r.curves.map((c) => `1/τ=${short(c.scale)}`);
  const swapped = r.labels.some((l, i) => l !== i);
  const curve = table(
    r.curves[0].points.map((q, i) => [
      String(q.theta),
      fixed(q.centroidDistance),
      ...transpose(
        r.curves.map((c) =>
          markMin(
            c.points.map((x) => x.loss),
            sigColumn,
          ),
        ),
      )[i],
    ]),
    {
      header: ["θ°", "centroid distance", ...scales],
      notes: [
        `CLIP loss of six pairs on S² as the text points sit θ° off the image equator${swapped ? ` (text labels ${r.labels.join(",")})` : ""}; ${MARK} least loss at each scale`,
      ],
    },
  );
  const training = table(
    r.training[0].gap.map((q, i) => [
      String(q.step),
      ...r.training.map((t) => fixed(t.gap[i].centroidDistance)),
    ]),
    {
      header: ["step", ...scales],
      notes: [`centroid distance while gradient descent trains the pairs from a ${p.initialTheta}° gap`],
    },
  );
  return `${curve}\n\n${training}`;
}

function mismatch(r: Mismatch): string {
  const part = (swapped: boolean) => {
    const runs = r.runs.filter((run) => run.swapped === swapped);
    const losses = transpose(runs.map((run) => markMin(run.loss, sigColumn)));
    return table(
      runs[0].z.map((z, i) => [fixed(z), ...losses[i]]),
      {
        header: ["z", ...runs.map((run) => `1/τ=${short(run.scale)}`)],
        notes: [
          `CLIP loss of two 9-point circles at ±z, ${swapped ? "points 3 and 8 swapped" : "labels as paired"}; ${MARK} least loss at each scale`,
        ],
      },
    );
  };
  return `${part(false)}\n\n${part(true)}`;
}

function shiftEval(r: ShiftEval): string {
  const { header, cells } = shiftColumns(r.sweep);
  const best = (key: "validationAccuracy" | "testAccuracy") => argmin(r.sweep.map((s) => -s[key]));
  const [chosen, top] = [best("validationAccuracy"), best("testAccuracy")];
  const baseline = r.sweep.find((s) => s.lambda === 0);
  return table(
    r.sweep.map((s, i) => [
      ...cells[i],
      marked(fraction(s.validationAccuracy), i === chosen),
      marked(fraction(s.testAccuracy), i === top),
    ]),
    {
      header: [...header, `validation (${r.validationImages})`, `test (${r.testImages})`],
      notes: [
        `zero-shot accuracy on the ${r.source} images' two splits; ${MARK} highest in its column`,
        `chosen on validation: λ = ${short(r.sweep[chosen].lambda)}, test accuracy ${fraction(r.sweep[chosen].testAccuracy)}${baseline ? ` (λ = 0: ${fraction(baseline.testAccuracy)})` : ""}`,
      ],
    },
  );
}

function fairness(r: Fairness): string {
  const { header, cells } = shiftColumns(r.sweep);
  const groups = r.sweep[0].groups;
  const disparity = markMin(
    r.sweep.map((s) => s.disparity),
    (column) => column.map(fraction),
  );
  return table(
    r.sweep.map((s, i) => [...cells[i], ...s.groups.map((g) => fraction(g.harmfulRate)), disparity[i]]),
    {
      header: [...header, ...groups.map((g) => `group ${g.group} (${g.images})`), "disparity"],
      notes: [
        `rate of ${r.source} images assigned a harmful class (${r.harmful.join(", ")}), per group; disparity: max − min`,
        `${MARK} least disparity`,
      ],
    },
  );
}

function trainTemperature(r: TrainTemperature, p: TableParams): string {
  const losses = sigColumn(r.runs.map((run) => run.loss));
  return table(
    r.runs.map((run, i) => [
      short(run.temperature),
      fixed(run.gap),
      fraction(run.r1),
      fraction(run.zeroShotAccuracy),
      losses[i],
    ]),
    {
      header: ["τ", "gap", "R@1", "zero-shot acc", "loss"],
      notes: [
        `after ${p.epochs} epoch${p.epochs === 1 ? "" : "s"} at a fixed τ; gap ‖mean A − mean B‖ and A→B R@1 on the ${r.heldOutPairs} held-out pairs, loss of the last epoch`,
      ],
    },
  );
}

function bind(r: Bind): string {
  const row = (label: string, a: Agreement) => [label, fraction(a.aToB), fraction(a.bToA)];
  return table([row("untrained", r.untrainedB), row("trained against the hub", r.emergent)], {
    header: ["B tower", "A→B", "B→A"],
    textColumns: 1,
    notes: [
      `nearest-neighbour label agreement between A and B on ${r.heldOutPairs} held-out pairs (chance ${fraction(r.chance)})`,
    ],
  });
}

function albef(r: AlbefResult, p: TableParams): string {
  return table(
    Object.entries(r.variants).map(([name, v]) => [
      name,
      formatMeanSd(v.itc.i2t.r1),
      formatMeanSd(v.reranked.i2t.r1),
      formatMeanSd(v.itc.t2i.r1),
      formatMeanSd(v.reranked.t2i.r1),
      formatMeanSd(v.reranked.t2i.r5),
      formatMeanSd(v.itmAccuracy),
      formatMeanSd(v.mlmAccuracy),
      formatMeanSd(v.gap),
      `${v.cones.image.mean.toFixed(2)}/${v.cones.text.mean.toFixed(2)}`,
      v.seconds.mean.toFixed(0),
    ]),
    {
      header: [
        "variant",
        "i→t R@1",
        "+ITM",
        "t→i R@1",
        "+ITM",
        "t→i R@5 +ITM",
        "ITM acc",
        "MLM acc",
        "gap",
        "cones i/t",
        "s",
      ],
      textColumns: 1,
      notes: [
        `held-out: ${r.heldOut.images} images of unseen emoji, ${r.heldOut.captions} captions; a hit is any caption (image) of the query's emoji; mean ± sd over ${p.seeds} seed${p.seeds === 1 ? "" : "s"} of ${p.steps} steps`,
        `chance R@1: i→t ${r.chance.i2t.toFixed(4)}, t→i ${r.chance.t2i.toFixed(4)}; +ITM: the top 16 by ITC re-ranked by ITM's match probability (— where the variant has no ITM or MLM)`,
      ],
    },
  );
}

function transfer(r: TransferResult, p: TableParams): string {
  return table(
    Object.entries(r.methods).map(([name, m]) => [name, ...transferCells(m), m.seconds.mean.toFixed(0)]),
    {
      header: ["method", ...TRANSFER_COLUMNS, "s"],
      textColumns: 1,
      notes: [
        `target ${r.target}: ${r.shots} labelled examples per class, accuracy on ${r.testRows} test rows (chance ${(1 / r.classes).toFixed(3)}); mean ± sd over ${p.seeds} seed${p.seeds === 1 ? "" : "s"}`,
        `source: pretrained on MNIST, held-out accuracy ${formatMeanSd(r.source.accuracy)}, its encoder's probe error ${formatMeanSd(r.source.probeError)} (the reference for the distortion)`,
        "source probe err: a linear probe's error on held-out digits through the fine-tuned encoder; discrepancy: the matched class-Gaussian W₂² the fine-tuning starts from; gap: embedded target vs source tokens, before and after stage 1",
      ],
    },
  );
}

function decode(r: DecodeResult, p: TableParams): string {
  const methods = Object.keys(r.methods);
  const scores = table(
    Object.entries(r.methods).map(([name, m]) => [name, ...decodeCells(m)]),
    {
      header: ["method", ...DECODE_COLUMNS],
      textColumns: 1,
      notes: [
        `${r.heldOut.images} held-out images of unseen emoji (${r.heldOut.captions} reference captions); mean ± sd over ${p.seeds} seed${p.seeds === 1 ? "" : "s"} of the decoders; exact: the caption is the emoji's name`,
        "CLIP score: the cosine between the caption's and the image's CLIP-mini embeddings; gap fed: ‖mean − mean‖ of the embeddings the decoder trained on and those it decoded",
      ],
    },
  );
  const examples = table(
    r.examples.map((e) => [e.name, ...methods.map((m) => e.captions[m] ?? "")]),
    {
      header: ["emoji", ...methods],
      textColumns: 1 + methods.length,
      notes: ["captions of a few held-out images (the first seed)"],
    },
  );
  return `${scores}\n\n${examples}`;
}

/** The table each experiment prints by default (`--json` prints its result instead). */
export const EXPERIMENT_TABLES: Readonly<Record<ExperimentName, ExperimentTable>> = {
  "cone-mlp": typed(coneMlp),
  "cone-inits": typed(coneInits),
  "init-gap": typed(initGap),
  landscape: typed(landscape),
  sphere: typed(sphere),
  mismatch: typed(mismatch),
  "shift-eval": typed(shiftEval),
  fairness: typed(fairness),
  "train-temperature": typed(trainTemperature),
  bind: typed(bind),
  albef: typed(albef),
  transfer: typed(transfer),
  decode: typed(decode),
};
