import { applyAlign, fitAlign } from "../align/index.js";
import { type ShiftState, shiftBy } from "../align/shift.js";
import { check, InputError } from "../core/errors.js";
import { type Matrix, matrix, selectRows, sliceRows } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { classEmbeddings, zeroShot } from "../eval/zero-shot.js";
import type { NdArray } from "../io/npy.js";
import { toMatrix } from "../io/npy.js";
import { type Experiment, LAMBDAS, type ParamValues, UNIT_PARAM } from "./experiment.js";

/** A labelled image set with one embedding per class (templates already averaged). */
interface LabelledSet {
  source: "files" | "synthetic";
  images: Matrix;
  labels: Int32Array;
  classes: Matrix;
}

function integerLabels(arr: NdArray, name: string, rows: number): Int32Array {
  check(
    arr.shape.length === 1 && arr.shape[0] === rows,
    name,
    `a 1-d array of ${rows} labels`,
    () => `shape (${arr.shape.join(", ")})`,
  );
  // checked before the conversion to Int32, which would truncate 1.5 to 1 and wrap 2³²
  const values = Array.from(arr.data as ArrayLike<number | bigint>, Number);
  for (const [i, v] of values.entries())
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1)
      throw new InputError(name, "non-negative integer labels below 2³¹", `${v} at ${i}`);
  return Int32Array.from(values);
}

/** Class embeddings from a (C, d) file, or (C, T, d) prompt templates averaged per class. */
function classesFrom(arr: NdArray, name: string): Matrix {
  if (arr.shape.length === 2) return classEmbeddings(toMatrix(arr, name));
  check(
    arr.shape.length === 3,
    name,
    "class embeddings of shape (C, d) or (C, templates, d)",
    () => `(${arr.shape.join(", ")})`,
  );
  const [c, t, d] = arr.shape;
  const all = toMatrix({ ...arr, shape: [c * t, d] }, name);
  return classEmbeddings(Array.from({ length: c }, (_, k) => sliceRows(all, k * t, (k + 1) * t)));
}

/**
 * A synthetic labelled set with a modality gap: class centres c_k ~ N(0, I); images n(c_k + noise + μ_img),
 * class texts n(c_k + μ_txt) with μ_img ≠ μ_txt, so the two sit in different cones.
 */
export function syntheticLabelledSet(seed: number, n = 2000, classes = 10, dim = 64): LabelledSet {
  const rng = createRng(seed);
  const centres = rng.normalMatrix(classes, dim);
  const [muImage, muText] = [rng.normalMatrix(1, dim, 2), rng.normalMatrix(1, dim, 2)];
  const labels = Int32Array.from({ length: n }, () => rng.int(classes));
  const images = matrix(n, dim);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < dim; j++)
      images.data[i * dim + j] = centres.data[labels[i] * dim + j] + 1.5 * rng.normal() + muImage.data[j];
  const texts = matrix(classes, dim);
  for (let k = 0; k < classes; k++)
    for (let j = 0; j < dim; j++) texts.data[k * dim + j] = centres.data[k * dim + j] + muText.data[j];
  return { source: "synthetic", images, labels, classes: classEmbeddings(texts) };
}

function labelledSet(p: ParamValues, labelKey: string): LabelledSet {
  const given = ["images", labelKey, "classes"].filter((k) => p[k] !== undefined);
  if (given.length === 0) return syntheticLabelledSet(p.seed as number);
  if (given.length < 3)
    throw new InputError(
      "--images/--classes",
      `all of --images, --${labelKey}, --classes, or none (synthetic data)`,
      given.join(", "),
    );
  const images = toMatrix(p.images as NdArray, "--images");
  return {
    source: "files",
    images,
    labels: integerLabels(p[labelKey] as NdArray, `--${labelKey}`, images.rows),
    classes: classesFrom(p.classes as NdArray, "--classes"),
  };
}

/**
 * Images and class embeddings shifted along their gap by λ, or with `unit` by a distance δ (the `shift`
 * transform fitted on both sets); `label` names the shift in a sweep's row.
 */
async function shifted(
  set: LabelledSet,
  value: number,
  unit: boolean,
): Promise<{ images: Matrix; classes: Matrix; label: { lambda: number; delta?: number } }> {
  const state = shiftBy((await fitAlign("shift", set.images, set.classes)) as ShiftState, value, unit);
  return {
    images: await applyAlign(state, set.images, "a"),
    classes: await applyAlign(state, set.classes, "b"),
    label: { lambda: state.lambda, ...(unit ? { delta: value } : {}) },
  };
}

const fileParams = {
  images: {
    kind: "array",
    required: false,
    doc: "(N, d) image embeddings (default: a synthetic labelled set)",
  },
  classes: { kind: "array", required: false, doc: "(C, d) class-prompt embeddings, or (C, templates, d)" },
} as const;

/** Mind the Gap Table 1: zero-shot accuracy as the gap is shifted, λ chosen on a validation split. */
export const shiftEval: Experiment = {
  name: "shift-eval",
  summary:
    "zero-shot accuracy vs gap shift λ; the best λ chosen on a validation split, reported on the test split",
  reproduces: "Mind the Gap, Table 1",
  params: {
    ...fileParams,
    labels: { kind: "array", required: false, doc: "(N,) integer class labels" },
    lambdas: {
      ...LAMBDAS,
      default: Array.from({ length: 21 }, (_, i) => Number((-1 + i * 0.1).toFixed(1))),
    },
    unit: UNIT_PARAM,
    validation: {
      kind: "number",
      default: 0.5,
      min: 0.05,
      max: 0.95,
      doc: "fraction of images (shuffled) that choose λ",
    },
    seed: { kind: "integer", default: 0, doc: "seed of the split (and of the synthetic set)" },
  },
  async run(p, onProgress) {
    const set = labelledSet(p, "labels");
    const n = set.images.rows;
    const order = createRng(p.seed as number).permutation(n);
    const cut = Math.round((p.validation as number) * n);
    check(
      cut >= 1 && cut < n,
      "--validation",
      "a split leaving images on both sides",
      () => `${cut} of ${n}`,
    );
    const part = (from: number, to: number) => Array.from(order.subarray(from, to));
    const [val, test] = [part(0, cut), part(cut, n)];
    const lambdas = p.lambdas as number[];
    const rows: { lambda: number; delta?: number; validationAccuracy: number; testAccuracy: number }[] = [];
    for (const [i, value] of lambdas.entries()) {
      const s = await shifted(set, value, p.unit as boolean);
      const accuracy = async (idx: number[]) => {
        const images = selectRows(s.images, idx);
        return (
          await zeroShot(
            images,
            s.classes,
            idx.map((r) => set.labels[r]),
          )
        ).accuracy;
      };
      rows.push({ ...s.label, validationAccuracy: await accuracy(val), testAccuracy: await accuracy(test) });
      onProgress?.(i + 1, lambdas.length);
    }
    const best = (key: "validationAccuracy" | "testAccuracy") =>
      rows.reduce((b, r) => (r[key] > b[key] ? r : b));
    const chosen = best("validationAccuracy");
    return {
      source: set.source,
      validationImages: val.length,
      testImages: test.length,
      sweep: rows,
      baseline: rows.find((r) => r.lambda === 0) ?? null,
      chosenOnValidation: { lambda: chosen.lambda, delta: chosen.delta, testAccuracy: chosen.testAccuracy },
      bestOnTestAsInThePaper: {
        lambda: best("testAccuracy").lambda,
        delta: best("testAccuracy").delta,
        testAccuracy: best("testAccuracy").testAccuracy,
      },
    };
  },
};

// How far group 1's images lean towards each (unit) harmful class embedding; image rows have norm ≈ 15.
const BIAS = 6;

/**
 * A synthetic fairness probe with a planted bias: images of group 1 lean towards the harmful classes, so
 * they are assigned one more often than group 0.
 */
function syntheticBiasedSet(seed: number, harmful: number[]): LabelledSet {
  const base = syntheticLabelledSet(seed, 2000, 6, 64);
  const rng = createRng(seed + 1);
  const groups = Int32Array.from({ length: base.images.rows }, () => rng.int(2));
  const d = base.images.cols;
  for (let i = 0; i < base.images.rows; i++) {
    if (groups[i] !== 1) continue;
    for (const h of harmful)
      for (let j = 0; j < d; j++) base.images.data[i * d + j] += BIAS * base.classes.data[h * d + j];
  }
  return { ...base, labels: groups };
}

/** Mind the Gap Table 2: how often each group is assigned a harmful class, and the disparity, as the gap shifts. */
export const fairness: Experiment = {
  name: "fairness",
  summary: "rate of harmful-class assignments per group and their max−min disparity vs gap shift λ",
  reproduces: "Mind the Gap, Table 2",
  params: {
    ...fileParams,
    groups: { kind: "array", required: false, doc: "(N,) integer group of each image" },
    harmful: {
      kind: "numbers",
      default: [4, 5],
      min: 0,
      max: 10_000,
      maxCount: 1000,
      integer: true,
      doc: "indices of the harmful classes",
    },
    lambdas: {
      ...LAMBDAS,
      default: Array.from({ length: 21 }, (_, i) => Number((-1 + i * 0.1).toFixed(1))),
    },
    unit: UNIT_PARAM,
    seed: { kind: "integer", default: 0, doc: "seed of the synthetic set" },
  },
  async run(p, onProgress) {
    const harmful = p.harmful as number[];
    const set =
      p.images === undefined && p.groups === undefined && p.classes === undefined
        ? syntheticBiasedSet(p.seed as number, harmful)
        : labelledSet(p, "groups");
    for (const h of harmful)
      check(
        Number.isInteger(h) && h >= 0 && h < set.classes.rows,
        "--harmful",
        `class indices in [0, ${set.classes.rows})`,
        () => String(h),
      );
    const groupIds = [...new Set(set.labels)].sort((x, y) => x - y);
    const lambdas = p.lambdas as number[];
    const sweep = [];
    for (const [i, value] of lambdas.entries()) {
      const s = await shifted(set, value, p.unit as boolean);
      const { predictions } = await zeroShot(s.images, s.classes, new Int32Array(s.images.rows));
      const rates = groupIds.map((g) => {
        let total = 0;
        let hits = 0;
        for (let r = 0; r < predictions.length; r++)
          if (set.labels[r] === g) {
            total++;
            if (harmful.includes(predictions[r])) hits++;
          }
        return { group: g, images: total, harmfulRate: hits / total };
      });
      const values = rates.map((r) => r.harmfulRate);
      sweep.push({ ...s.label, groups: rates, disparity: Math.max(...values) - Math.min(...values) });
      onProgress?.(i + 1, lambdas.length);
    }
    return { source: set.source, harmful, sweep };
  },
};
