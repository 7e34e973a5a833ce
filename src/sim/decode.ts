/**
 * `experiment decode` (issue 29): from a joint embedding back to a caption, on the built-in emoji set. A
 * CLIP-mini (ALBEF-mini trained with ITC alone) embeds images and captions; caption decoders (prefix-
 * conditioned causal transformers) are trained on image embeddings (`prefix`, the paired upper bound) or
 * on text embeddings only, and fed held-out image embeddings as they are (`naive`), with CapDec's noise
 * while training (`capdec`), centred with noise (`c3`), projected onto a memory of text embeddings
 * (`decap`) or moved onto the text statistics by ReAlign (`realign`); `revision` (ReAlign's ReVision) trains
 * on text embeddings moved into the image distribution instead, and is fed the images as they are;
 * `iterative` trains only a language model and keeps, step by step, the candidates whose text embedding is
 * closest to the image's.
 */
import { applyAlign, fitAlign } from "../align/index.js";
import { addGaussianNoise } from "../align/noise.js";
import { colMeans, type Matrix, matrix, selectRows, vectorNorm } from "../core/matrix.js";
import { pngDataUri } from "../core/png.js";
import type { Rng } from "../core/rng.js";
import { bleu4, exactMatch, tokenF1 } from "../eval/captions.js";
import { pairedCosine, pairedCosines } from "../gap/metrics.js";
import {
  type CaptionedImages,
  encodeAlbefImages,
  encodeAlbefTexts,
  type TrainedAlbef,
  trainAlbef,
} from "../train/albef-training.js";
import type { Params } from "../train/autograd/nn.js";
import type { Tensor } from "../train/autograd/tensor.js";
import type { Training } from "../train/autograd/training.js";
import { cocaCaptions, cocaImageEmbeddings, type TrainedCoca, trainCoca } from "../train/coca.js";
import {
  type Decoded,
  type DecoderConfig,
  decodeCaptions,
  nextTokenLogProbs,
  topTokens,
  trainDecoder,
} from "../train/decoder.js";
import {
  buildVocabulary,
  CLS,
  encodeTexts,
  PAD,
  rowLength,
  type Vocabulary,
  words,
} from "../train/text-tokens.js";
import { ALBEF_MINI, ALBEF_TRAINING, ALBEF_VARIANTS } from "./albef.js";
import {
  cachedTraining,
  type Experiment,
  type FileCache,
  formatMeanSd,
  type OverSeeds,
  settingsHash,
  summarise,
} from "./experiment.js";

/** The methods, in the order of the table. */
export const DECODE_METHODS = [
  "prefix",
  "naive",
  "capdec",
  "c3",
  "decap",
  "realign",
  "revision",
  "iterative",
  "coca",
] as const;

/** A decoding method. */
export type DecodeMethod = (typeof DECODE_METHODS)[number];

/**
 * The decoder: d 64, 2 layers, 4 heads, 4 prefix tokens from the 64-d embedding (d 128 took 63 ms a step
 * against 27, which the 20-minute default table could not afford).
 */
const DECODER = { dim: 64, heads: 4, depth: 2, hidden: 128, prefix: 4 };

/** How every decoder trains (AdamW, batches of 64, warm-up then cosine), chosen once. */
const DECODER_TRAINING = { batch: 64, lr: 1e-3, warmup: 50, weightDecay: 0.01 };

/** CapDec's training noise variance σ² (the paper's), C3's too: N(0, σ²) per coordinate, then renormalised. */
const CAPDEC_VARIANCE = 0.016;

/** `iterative`'s search: the language model's `candidates` likeliest next tokens of each of `width` beams. */
const ITERATIVE = { width: 4, candidates: 4 };

/** Bumped when the CLIP-mini's training changes, so that no cached model of older code is read. */
const CHECKPOINT_VERSION = 1;

/** Unit-norm row `row` with N(0, σ²) added per coordinate, renormalised (drawn from `rng`). */
function addNoise(row: Float32Array, rng: Rng, variance: number): void {
  addGaussianNoise(row, variance, rng);
  const scale = 1 / vectorNorm(row);
  for (let j = 0; j < row.length; j++) row[j] *= scale;
}

/** ‖mean(a) − mean(b)‖ of two sets of unit rows (any counts): the gap between what a decoder saw and is fed. */
function centroidDistance(a: Matrix, b: Matrix): number {
  const [ma, mb] = [colMeans(a), colMeans(b)];
  return vectorNorm(ma.map((v, j) => v - mb[j]));
}

/** One method's numbers on the held-out images. */
interface RunNumbers {
  bleu4: number;
  tokenF1: number;
  exact: number;
  clipScore: number;
  gapFed: number;
}

/** The held-out images and what the metrics compare with. */
interface HeldOut {
  /** Per held-out image: its captions' words (the references) and its name's (the first caption). */
  references: string[][][];
  names: string[][];
  features: Matrix;
}

/** The captions of decoded ids, as words. */
const wordsOf = (decoded: readonly Decoded[], vocabulary: Vocabulary) =>
  decoded.map(({ ids }) => ids.map((id) => vocabulary.tokens[id]));

/** Scores captions (words) against the held-out images' references, names and image features. */
async function scoreCaptions(
  captions: string[][],
  held: HeldOut,
  clip: TrainedAlbef,
  gapFed: number,
): Promise<RunNumbers> {
  const texts = await encodeAlbefTexts(
    clip,
    captions.map((c) => c.join(" ")),
  );
  return {
    bleu4: bleu4(captions, held.references),
    tokenF1: captions.reduce((s, c, i) => s + tokenF1(c, held.references[i]), 0) / captions.length,
    exact: captions.filter((c, i) => exactMatch(c, held.names[i])).length / captions.length,
    clipScore: pairedCosine(texts.features, held.features),
    gapFed,
  };
}

/**
 * `iterative` decoding: from [CLS], each step extends every beam by the language model's `candidates`
 * likeliest next tokens and keeps, per image, the `width` candidates whose caption so far has the text
 * embedding closest (cosine) to the image's; a beam ends at [PAD]. The caption of the closest ended (or
 * full-length) beam is the answer.
 */
async function iterativeDecode(
  lm: Training,
  config: DecoderConfig,
  vocabulary: Vocabulary,
  clip: TrainedAlbef,
  imageFeatures: Matrix,
): Promise<string[][]> {
  const { width, candidates } = ITERATIVE;
  const { length, embedDim } = config;
  const n = imageFeatures.rows;
  const zeros = new Float32Array(n * width * embedDim); // the language model is unconditioned
  const outputs = (p: Params, [e, x]: readonly Tensor[]) => [nextTokenLogProbs(p, e, x, config)];
  type Beam = { ids: number[]; cosine: number; done: boolean };
  let beams: Beam[][] = Array.from({ length: n }, () => [{ ids: [], cosine: -2, done: false }]);
  for (let t = 1; t < length && beams.some((item) => item.some((b) => !b.done)); t++) {
    const rows = new Float32Array(n * width * length);
    for (const [i, item] of beams.entries())
      for (const [k, b] of item.entries()) {
        rows[(i * width + k) * length] = CLS;
        rows.set(b.ids, (i * width + k) * length + 1);
      }
    const [logProbs] = await lm.run(outputs, [
      { data: zeros, dims: [n * width, embedDim] },
      { data: rows, dims: [n * width, length] },
    ]);
    const proposals: { item: number; ids: number[]; done: boolean }[] = [];
    for (const [i, item] of beams.entries())
      for (const [k, b] of item.entries()) {
        if (b.done) continue;
        const at = ((i * width + k) * (length - 1) + t - 1) * config.vocabulary;
        const row = logProbs.subarray(at, at + config.vocabulary);
        for (const id of topTokens(row, candidates))
          proposals.push(
            id === PAD
              ? { item: i, ids: b.ids, done: true }
              : { item: i, ids: [...b.ids, id], done: t === length - 1 },
          );
      }
    const texts = await encodeAlbefTexts(
      clip,
      proposals.map((q) => q.ids.map((id) => vocabulary.tokens[id]).join(" ")),
    );
    const cosines = pairedCosines(
      texts.features,
      selectRows(
        imageFeatures,
        proposals.map((q) => q.item),
      ),
    );
    const next: Beam[][] = beams.map((item) => item.filter((b) => b.done));
    proposals.forEach((q, r) => {
      next[q.item].push({ ids: q.ids, cosine: cosines[r], done: q.done });
    });
    beams = next.map((item) => item.sort((x, y) => y.cosine - x.cosine).slice(0, width));
  }
  return beams.map((item) => {
    const best = item.find((b) => b.done) ?? item[0];
    return best.ids.map((id) => vocabulary.tokens[id]);
  });
}

/** A stable name for the cached `model` ("clip" or "coca") trained for `steps` with `seed`. */
function checkpointName(model: string, seed: number, steps: number): string {
  const hash = settingsHash({ CHECKPOINT_VERSION, ALBEF_MINI, ALBEF_TRAINING, steps });
  return `decode-${model}-${hash}-seed${seed}.npz`;
}

/** The CLIP-mini: ALBEF-mini trained with ITC alone on the training emoji (read from `cache` where kept). */
function clipMini(
  data: CaptionedImages,
  steps: number,
  seed: number,
  cache?: FileCache,
): Promise<TrainedAlbef> {
  return cachedTraining(cache, checkpointName("clip", seed, steps), (restore) =>
    trainAlbef(data, ALBEF_MINI, {
      ...ALBEF_TRAINING,
      objective: ALBEF_VARIANTS.itc,
      steps: restore ? 0 : steps,
      batch: 16,
      noisy: 0,
      seed,
      restore,
    }),
  );
}

/** CoCa-mini on ALBEF-mini's encoders and settings, trained as long as the CLIP-mini (read from `cache` where kept). */
function cocaMini(
  data: CaptionedImages,
  steps: number,
  seed: number,
  cache?: FileCache,
): Promise<TrainedCoca> {
  return cachedTraining(cache, checkpointName("coca", seed, steps), (restore) =>
    trainCoca(data, ALBEF_MINI, { ...ALBEF_TRAINING, steps: restore ? 0 : steps, batch: 16, seed, restore }),
  );
}

/** The measures of a method over seeds, as the table and the report show them (see decodeCells). */
export const DECODE_COLUMNS = ["BLEU-4", "token F1", "exact", "CLIP score", "gap fed"];

/** A method's measures as mean ± sd cells, in DECODE_COLUMNS' order. */
export function decodeCells(m: OverSeeds<RunNumbers>): string[] {
  return [m.bleu4, m.tokenF1, m.exact, m.clipScore, m.gapFed].map(formatMeanSd);
}

/** `experiment decode`'s result: per method, each number's mean ± sd over the seeds. */
export interface DecodeResult {
  methods: Record<string, OverSeeds<RunNumbers>>;
  /** A few held-out images: the emoji's name and each method's caption (the first seed's). */
  examples: { image: number; name: string; png: string; captions: Record<string, string> }[];
  heldOut: { images: number; captions: number };
}

/** The held-out images shown as examples: this many, spread evenly over the held-out set. */
const EXAMPLES = 6;

/** Decoding an embedding back to text: what the modality gap costs a text-only decoder, and what fixes recover. */
export const decode: Experiment = {
  name: "decode",
  summary:
    "caption decoders on a CLIP-mini's emoji embeddings: trained on image embeddings (prefix) or on text embeddings only (naive, capdec, c3, decap, realign, revision, iterative); BLEU-4, token F1, exact name, CLIP score and the gap fed",
  reproduces: "ClipCap, CapDec, DeCap and C3 (the survey seed's decoding section), scaled down",
  params: {
    data: {
      kind: "emoji",
      doc: "the built-in emoji set (Twemoji images, CLDR captions; 20 % of emoji held out)",
    },
    methods: {
      kind: "choices",
      default: DECODE_METHODS,
      choices: DECODE_METHODS,
      all: true,
      doc: "decoding methods",
    },
    seeds: {
      kind: "integer",
      default: 3,
      min: 1,
      max: 20,
      doc: "decoder runs per method (seeds seed, seed + 1, …)",
    },
    clipSteps: {
      kind: "integer",
      default: 1500,
      min: 1,
      max: 1_000_000,
      doc: "training steps of the CLIP-mini (ALBEF-mini's ITC, batches of 16), trained once with --seed",
    },
    // 1,000 keeps the default table well inside 20 minutes: at 1,500 it ran 16.7 min with the CLIP-mini cached
    decoderSteps: {
      kind: "integer",
      default: 1000,
      min: 1,
      max: 1_000_000,
      doc: "training steps of each decoder",
    },
    capdecNoise: {
      kind: "numbers",
      default: [CAPDEC_VARIANCE],
      min: 0,
      max: 1,
      maxCount: 8,
      doc: "capdec's training noise variances σ², a row each (the paper's 0.016 is the row named capdec)",
    },
    beam: { kind: "integer", default: 1, min: 1, max: 16, doc: "beam width of decoding (1: greedy)" },
    seed: { kind: "integer", default: 0, doc: "the CLIP-mini's and the first decoder's seed" },
    cache: {
      kind: "cache",
      doc: "keep the trained CLIP-mini and CoCa-mini here, and read them back in later runs",
    },
  },
  async run(p, onProgress) {
    const data = p.data as CaptionedImages;
    const methods = p.methods as DecodeMethod[];
    const [seeds, first, beam] = [p.seeds, p.seed, p.beam] as number[];
    const clip = await clipMini(data, p.clipSteps as number, first, p.cache as FileCache | undefined);
    onProgress?.(0, 1, "CLIP-mini trained");
    const train = data.captions.filter(({ image }) => !data.heldOut[image]);
    const trainImages = [...new Set(train.map(({ image }) => image))].sort((x, y) => x - y);
    const heldImages = [...data.heldOut.keys()].filter((i) => data.heldOut[i]);
    const vocabulary = buildVocabulary(train.map(({ text }) => text));
    const length = rowLength(train.map(({ text }) => text));
    const config: DecoderConfig = {
      ...DECODER,
      vocabulary: vocabulary.tokens.length,
      length,
      embedDim: clip.config.embedDim,
    };
    const ids = encodeTexts(
      vocabulary,
      train.map(({ text }) => text),
      length,
    );
    const textTrain = (
      await encodeAlbefTexts(
        clip,
        train.map(({ text }) => text),
      )
    ).features;
    const imageTrain = (await encodeAlbefImages(clip, selectRows(data.pixels, trainImages))).features;
    const trainRow = new Map(trainImages.map((image, row) => [image, row]));
    const imageOfCaption = selectRows(
      imageTrain,
      train.map(({ image }) => trainRow.get(image) as number),
    );
    const byImage = new Map<number, string[][]>();
    for (const { text, image } of data.captions)
      if (data.heldOut[image]) byImage.set(image, [...(byImage.get(image) ?? []), words(text)]);
    const heldPixels = selectRows(data.pixels, heldImages);
    const held: HeldOut = {
      references: heldImages.map((i) => byImage.get(i) as string[][]),
      names: heldImages.map((i) => (byImage.get(i) as string[][])[0]),
      features: (await encodeAlbefImages(clip, heldPixels)).features,
    };
    // the training-free fixes, fitted on unpaired training statistics: text as A, images as B
    const fitted = async (kind: string) => fitAlign(kind, textTrain, imageTrain);
    const [c3, decap, realign] = [await fitted("c3"), await fitted("decap"), await fitted("realign")];
    const centredText = await applyAlign(c3, textTrain, "a");
    // ReVision: the other way round, text moved onto the images' statistics (images as A, text as B)
    const textAsImages = await applyAlign(await fitAlign("realign", imageTrain, textTrain), textTrain, "b");
    // what each decoder trains on and is fed; iterative's language model sees no embedding, but its search
    // compares text embeddings with the images'
    const fed: Record<Exclude<DecodeMethod, "coca">, { train: Matrix; test: Matrix }> = {
      prefix: { train: imageOfCaption, test: held.features },
      naive: { train: textTrain, test: held.features },
      capdec: { train: textTrain, test: held.features },
      c3: { train: centredText, test: await applyAlign(c3, held.features, "b") },
      decap: { train: textTrain, test: await applyAlign(decap, held.features, "b") },
      realign: { train: textTrain, test: await applyAlign(realign, held.features, "b") },
      revision: { train: textAsImages, test: held.features },
      iterative: { train: textTrain, test: held.features },
    };
    // the table's rows: a method, or capdec at each σ² of the sweep ("capdec" at CapDec's own)
    const rows = methods.flatMap((method): { name: string; method: DecodeMethod; variance: number }[] =>
      method === "capdec"
        ? (p.capdecNoise as number[]).map((variance) => ({
            name: variance === CAPDEC_VARIANCE ? method : `capdec σ²=${variance}`,
            method,
            variance,
          }))
        : [{ name: method, method, variance: method === "c3" ? CAPDEC_VARIANCE : 0 }],
    );
    const runs: Record<string, RunNumbers[]> = Object.fromEntries(rows.map(({ name }) => [name, []]));
    const examples = Array.from({ length: Math.min(EXAMPLES, heldImages.length) }, (_, k) =>
      Math.round((k * (heldImages.length - 1)) / Math.max(1, EXAMPLES - 1)),
    );
    const exampleCaptions: Record<string, string>[] = examples.map(() => ({}));
    // CoCa-mini is one model, trained once with --seed: its row is that run's
    const total = rows.reduce((n, { method }) => n + (method === "coca" ? 1 : seeds), 0);
    let done = 0;
    for (let seed = first; seed < first + seeds; seed++) {
      // one decoder per training input: naive, decap and realign share the text-trained one
      const decoders = new Map<string, Training>();
      const decoder = async (key: string, embeddings: Matrix, variance: number) => {
        let training = decoders.get(key);
        if (!training) {
          training = await trainDecoder(embeddings, ids, config, {
            ...DECODER_TRAINING,
            steps: p.decoderSteps as number,
            seed,
            augment: variance > 0 ? (row, rng) => addNoise(row, rng, variance) : undefined,
          });
          decoders.set(key, training);
        }
        return training;
      };
      for (const { name, method, variance } of rows) {
        let captions: string[][];
        let gapFed: number;
        if (method === "coca") {
          if (seed > first) continue;
          const model = await cocaMini(data, p.clipSteps as number, first, p.cache as FileCache | undefined);
          const said = await cocaCaptions(model, heldPixels, beam);
          captions = wordsOf(said.captions, model.vocabulary);
          const trainEmbeddings = await cocaImageEmbeddings(model, selectRows(data.pixels, trainImages));
          gapFed = centroidDistance(trainEmbeddings, said.embeddings);
        } else {
          const { train: trainFed, test: testFed } = fed[method];
          gapFed = centroidDistance(trainFed, testFed);
          if (method === "iterative") {
            const lm = await decoder("lm", matrix(train.length, config.embedDim), 0);
            captions = await iterativeDecode(lm, config, vocabulary, clip, held.features);
          } else {
            const key =
              method === "prefix" || method === "revision"
                ? method
                : variance > 0
                  ? `${method} ${variance}`
                  : "text";
            const training = await decoder(key, trainFed, variance);
            captions = wordsOf(await decodeCaptions(training, testFed, config, beam), vocabulary);
          }
        }
        const numbers = await scoreCaptions(captions, held, clip, gapFed);
        runs[name].push(numbers);
        if (seed === first)
          for (const [k, i] of examples.entries()) exampleCaptions[k][name] = captions[i].join(" ");
        onProgress?.(
          ++done,
          total,
          `seed ${seed}: ${name} BLEU-4 ${numbers.bleu4.toFixed(3)}, token F1 ${numbers.tokenF1.toFixed(3)}, exact ${numbers.exact.toFixed(3)}`,
        );
      }
    }
    const result: DecodeResult = {
      methods: Object.fromEntries(rows.map(({ name }) => [name, summarise(runs[name])])),
      examples: examples.map((i, k) => ({
        image: heldImages[i],
        name: held.names[i].join(" "),
        png: pngDataUri(
          data.pixels.data.subarray(heldImages[i] * data.pixels.cols, (heldImages[i] + 1) * data.pixels.cols),
          [ALBEF_MINI.image.channels, ALBEF_MINI.image.height, ALBEF_MINI.image.width],
        ),
        captions: exampleCaptions[k],
      })),
      heldOut: {
        images: heldImages.length,
        captions: [...byImage.values()].reduce((n, c) => n + c.length, 0),
      },
    };
    return result;
  },
};
