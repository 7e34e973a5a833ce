import { check } from "../core/errors.js";
import { type Matrix, sliceRows } from "../core/matrix.js";
import { zeroShot } from "../eval/zero-shot.js";
import { bagOfWords } from "../io/bag-of-words.js";
import { DIGIT_PROMPTS } from "../io/digit-captions.js";
import { embed, initTraining, SMALL_TRAIN_CONFIG, splitRows, train } from "../train/trainer.js";
import { type Experiment, type LabelledPairs, TEMPERATURES } from "./experiment.js";

const HELD_OUT = 0.2;

/** Fraction of rows of `from` whose nearest row of `to` (cosine) carries the same label. */
export function nearestLabelAgreement(
  from: Matrix,
  to: Matrix,
  fromLabels: ArrayLike<number>,
  toLabels: ArrayLike<number>,
): number {
  check(from.cols === to.cols, "nearestLabelAgreement", `embeddings of equal dimension (${from.cols})`, () =>
    String(to.cols),
  );
  let hits = 0;
  for (let i = 0; i < from.rows; i++) {
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < to.rows; j++) {
      let s = 0;
      for (let k = 0; k < from.cols; k++) s += from.data[i * from.cols + k] * to.data[j * to.cols + k];
      if (s > bestScore) [best, bestScore] = [j, s];
    }
    if (toLabels[best] === fromLabels[i]) hits++;
  }
  return hits / from.rows;
}

const dataParam = {
  kind: "builtin",
  pairs: 2000,
  doc: "built-in MNIST digits with templated captions",
} as const;

/** Mind the Gap §4 / the seeds: a lower fixed temperature keeps a larger gap after training. */
export const trainTemperature: Experiment = {
  name: "train-temperature",
  summary:
    "train the same two towers at fixed τ ∈ {1/100, 1/50, 1/10}: final gap, R@1 and zero-shot accuracy",
  reproduces: "Mind the Gap, Sec. 4.1 (temperature keeps the gap)",
  params: {
    data: dataParam,
    temperatures: { ...TEMPERATURES, maxCount: 20, default: [0.01, 0.02, 0.1], doc: "fixed temperatures τ" },
    epochs: { kind: "integer", default: 8, min: 1, max: 1000, doc: "epochs per run" },
    seed: { kind: "integer", default: 0, doc: "seed of data, initialisation and batches" },
  },
  async run(p, onProgress) {
    const data = p.data as LabelledPairs;
    const temperatures = p.temperatures as number[];
    const fit = splitRows(data.images.rows, HELD_OUT);
    const prompts = bagOfWords(DIGIT_PROMPTS, data.vocabulary);
    const runs = [];
    for (const [i, temperature] of temperatures.entries()) {
      const config = {
        ...SMALL_TRAIN_CONFIG,
        epochs: p.epochs as number,
        seed: p.seed as number,
        temperature,
        fixedTemperature: true,
        heldOut: HELD_OUT,
      };
      const state = initTraining(config, data.images.cols, data.captions.cols);
      const last = (await train(data.images, data.captions, state)).at(-1)!;
      const images = sliceRows(embed(state, data.images, "a"), fit, data.images.rows);
      const zs = await zeroShot(images, embed(state, prompts, "b"), data.labels.subarray(fit));
      runs.push({ temperature, gap: last.gap, r1: last.r1, zeroShotAccuracy: zs.accuracy, loss: last.loss });
      onProgress?.(i + 1, temperatures.length);
    }
    return { heldOutPairs: data.images.rows - fit, runs };
  },
};

/** The digit's caption in a second language: a third modality tied to the others only through the hub. */
const SPANISH = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"];

/**
 * ImageBind's emergent alignment: images (A) and Spanish captions (B) are each trained only against the
 * English captions (hub H, its tower frozen in the second run); A↔B agreement is then measured zero-shot.
 */
export const bind: Experiment = {
  name: "bind",
  summary: "three modalities, A–H and B–H pairs only: does A↔B retrieval emerge through the hub H?",
  reproduces: "ImageBind (Girdhar et al. 2023), emergent zero-shot alignment",
  params: {
    data: dataParam,
    epochs: { kind: "integer", default: 8, min: 1, max: 1000, doc: "epochs of each training run" },
    seed: { kind: "integer", default: 0, doc: "seed" },
  },
  async run(p, onProgress) {
    const data = p.data as LabelledPairs;
    const seed = p.seed as number;
    const spanishText = Array.from(data.labels, (d, i) =>
      i % 2 ? `un ${SPANISH[d]} escrito a mano` : `el numero ${SPANISH[d]}`,
    );
    const spanishVocabulary = [...new Set(spanishText.flatMap((t) => t.split(" ")))].sort();
    const spanish = bagOfWords(spanishText, spanishVocabulary);
    const base = { ...SMALL_TRAIN_CONFIG, epochs: p.epochs as number, heldOut: HELD_OUT };
    // 1. images ↔ English captions (the hub)
    const imageHub = initTraining({ ...base, seed }, data.images.cols, data.captions.cols);
    await train(data.images, data.captions, imageHub);
    onProgress?.(1, 2);
    // 2. Spanish captions ↔ English captions, with the hub tower taken from run 1 and frozen
    const spanishHub = initTraining(
      { ...base, seed: seed + 1, freezeB: true },
      spanish.cols,
      data.captions.cols,
    );
    for (const name of Object.keys(spanishHub.params))
      if (name.startsWith("b.")) spanishHub.params[name] = imageHub.params[name];
    const fit = splitRows(data.images.rows, HELD_OUT);
    const heldLabels = data.labels.subarray(fit);
    const agreement = () => {
      const a = sliceRows(embed(imageHub, data.images, "a"), fit, data.images.rows);
      const b = sliceRows(embed(spanishHub, spanish, "a"), fit, data.images.rows);
      return {
        aToB: nearestLabelAgreement(a, b, heldLabels, heldLabels),
        bToA: nearestLabelAgreement(b, a, heldLabels, heldLabels),
      };
    };
    const before = agreement();
    await train(spanish, data.captions, spanishHub);
    onProgress?.(2, 2);
    return { heldOutPairs: heldLabels.length, chance: 0.1, untrainedB: before, emergent: agreement() };
  },
};
