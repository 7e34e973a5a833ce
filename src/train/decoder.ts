/**
 * A caption decoder on the autograd: a small causal transformer language model over word tokens,
 * conditioned on an embedding through a learned prefix (ClipCap, Mokady et al. 2021: an MLP maps the
 * embedding to k prefix tokens the caption attends to), with greedy and beam decoding. Rows of token ids
 * are text-tokens.ts's: [CLS] (the start), the words, then [PAD] — the first [PAD] after the words is the
 * end the model learns to predict; later ones are not predicted.
 */
import { check } from "../core/errors.js";
import type { Tensor32 } from "../core/gemm/index.js";
import type { Matrix } from "../core/matrix.js";
import { createRng, type Rng } from "../core/rng.js";
import {
  embedding,
  gelu,
  initEmbedding,
  initLayerNorm,
  initLinear,
  initNormal,
  initTransformerBlock,
  layerNorm,
  linear,
  type ParamInit,
  type Params,
  transformerBlock,
} from "./autograd/nn.js";
import { add, concat, div, logSoftmax, mul, reshape, slice, sum } from "./autograd/ops.js";
import { constant, type Tensor } from "./autograd/tensor.js";
import { compiledTraining, type Training } from "./autograd/training.js";
import { cosineSchedule } from "./optim.js";
import { CLS, PAD } from "./text-tokens.js";

/** The decoder's shape. */
export interface DecoderConfig {
  /** Token ids (the vocabulary's size). */
  readonly vocabulary: number;
  /** Tokens per caption row, [CLS] included. */
  readonly length: number;
  /** Prefix tokens the embedding is mapped to. */
  readonly prefix: number;
  /** The conditioning embedding's dimension. */
  readonly embedDim: number;
  readonly dim: number;
  readonly heads: number;
  readonly depth: number;
  /** The blocks' MLP width. */
  readonly hidden: number;
}

/** What targets and decoding need of a decoder: tokens per row and the vocabulary's size. */
export type RowShape = Pick<DecoderConfig, "length" | "vocabulary">;

/** Initial parameters, seeded: the prefix MLP (embedDim → k·dim/2 → k·dim), token table, positions, blocks, head. */
export function initDecoder(config: DecoderConfig, seed: number): Record<string, ParamInit> {
  const { vocabulary, length, prefix, embedDim, dim, depth, hidden } = config;
  const width = prefix * dim;
  let init: Record<string, ParamInit> = {
    ...initLinear("prefix.mlp1", embedDim, width / 2, seed),
    ...initLinear("prefix.mlp2", width / 2, width, seed + 1),
    ...initEmbedding("tokens", vocabulary, dim, seed + 2),
    positions: initNormal([prefix + length, dim], 0.02, seed + 3),
    ...initLayerNorm("norm", dim),
    ...initLinear("head", dim, vocabulary, seed + 4),
  };
  for (let i = 0; i < depth; i++)
    init = { ...init, ...initTransformerBlock(`block${i}`, dim, hidden, seed + 10 * (i + 1)) };
  return init;
}

/** The additive causal mask [1, 1, T, T]: 0 where a position may see another (itself and earlier), −1e9 after. */
function causalMask(length: number): Tensor {
  return constant(
    [1, 1, length, length],
    Float64Array.from({ length: length * length }, (_, k) =>
      k % length > Math.floor(k / length) ? -1e9 : 0,
    ),
  );
}

/**
 * Log-probabilities [B, length − 1, vocabulary] of each next token of the rows `ids` ([B, length] token
 * ids as numbers) given the embeddings [B, embedDim]: position t predicts token t + 1.
 */
export function nextTokenLogProbs(p: Params, embeddings: Tensor, ids: Tensor, config: DecoderConfig): Tensor {
  const { length, prefix, dim, depth, heads } = config;
  const [batch] = embeddings.shape;
  check(
    ids.shape.length === 2 && ids.shape[0] === batch && ids.shape[1] === length,
    "caption decoder",
    `[${batch}, ${length}] token ids`,
    () => JSON.stringify(ids.shape),
  );
  const prefixTokens = reshape(linear(gelu(linear(embeddings, p, "prefix.mlp1")), p, "prefix.mlp2"), [
    batch,
    prefix,
    dim,
  ]);
  let x = add(concat([prefixTokens, embedding(ids, p, "tokens")], 1), p.positions);
  const mask = causalMask(prefix + length);
  for (let i = 0; i < depth; i++) x = transformerBlock(x, p, `block${i}`, heads, mask);
  const words = slice(layerNorm(x, p, "norm"), 1, prefix, prefix + length - 1);
  return logSoftmax(linear(words, p, "head"));
}

/**
 * The targets of token rows for nextTokenLogProbs: one-hot [B, length − 1, vocabulary] of each next token
 * up to and including the first [PAD] (the end), zero rows after it (not predicted).
 */
export function nextTokenTargets(ids: Int32Array, rows: number, config: RowShape): Float32Array {
  const { length, vocabulary } = config;
  const out = new Float32Array(rows * (length - 1) * vocabulary);
  for (let r = 0; r < rows; r++)
    for (let t = 1; t < length; t++) {
      const id = ids[r * length + t];
      out[(r * (length - 1) + t - 1) * vocabulary + id] = 1;
      if (id === PAD) break;
    }
  return out;
}

/** The captioning loss: the mean negative log-probability of the predicted tokens (targets from nextTokenTargets). */
export function captionLoss(logProbs: Tensor, targets: Tensor): Tensor {
  return div(mul(sum(mul(targets, logProbs)), -1), sum(targets));
}

/** Scores a batch of token rows: log-probabilities [rows, length − 1, vocabulary] (nextTokenLogProbs'), flat. */
export type NextTokenScorer = (ids: Int32Array, rows: number) => Promise<Float32Array>;

/** A decoded caption: its token ids (without [CLS] and the end) and their summed log-probability. */
export interface Decoded {
  readonly ids: number[];
  readonly logProb: number;
}

/** The caption of each row of `rows` ([CLS] then ids): its words, without the end and what follows. */
function captionOf(ids: Int32Array): number[] {
  const words = Array.from(ids.subarray(1));
  const end = words.indexOf(PAD);
  return end < 0 ? words : words.slice(0, end);
}

/** The index of the highest entry (the first of ties). */
function argmax(values: Float32Array): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

/**
 * Greedy decoding of `items` captions: from [CLS], the most probable next token at each step until [PAD]
 * or the row's end. `score` runs the model on all items' rows at once.
 */
export async function greedyDecode(
  score: NextTokenScorer,
  items: number,
  config: DecoderConfig,
): Promise<Decoded[]> {
  const { length, vocabulary } = config;
  const rows = new Int32Array(items * length);
  for (let i = 0; i < items; i++) rows[i * length] = CLS;
  const logProb = new Float64Array(items);
  const done = new Uint8Array(items);
  for (let t = 1; t < length && done.includes(0); t++) {
    const logProbs = await score(rows, items);
    for (let i = 0; i < items; i++) {
      if (done[i]) continue;
      const at = (i * (length - 1) + t - 1) * vocabulary;
      const id = argmax(logProbs.subarray(at, at + vocabulary));
      rows[i * length + t] = id;
      logProb[i] += logProbs[at + id];
      if (id === PAD) done[i] = 1;
    }
  }
  return Array.from({ length: items }, (_, i) => ({
    ids: captionOf(rows.subarray(i * length, (i + 1) * length)),
    logProb: logProb[i],
  }));
}

/** One hypothesis of a beam: its row of ids, its summed log-probability, and whether it has ended. */
interface Hypothesis {
  ids: Int32Array;
  logProb: number;
  done: boolean;
}

/**
 * Beam search over `items` captions (each its own beams of `width`; at width 1, greedy decoding): from
 * [CLS], each step extends every live hypothesis by each of its `width` most probable next tokens and
 * keeps the `width` of highest summed log-probability per item (an ended one competes unchanged); a
 * hypothesis ends at [PAD] or the row's end. `score` runs the model on all items' beams at once
 * (items × width rows, item-major), so its batch shape never changes. Ties go to the earlier hypothesis
 * and the lower token id: the same scores give the same captions.
 */
export async function beamSearch(
  score: NextTokenScorer,
  items: number,
  config: RowShape,
  width = 1,
): Promise<Decoded[]> {
  const { length, vocabulary } = config;
  check(Number.isInteger(width) && width >= 1, "beamSearch", "a beam width of at least 1", () =>
    String(width),
  );
  const start = (): Hypothesis => {
    const ids = new Int32Array(length); // PAD = 0
    ids[0] = CLS;
    return { ids, logProb: 0, done: false };
  };
  // every item starts with one live hypothesis; the other slots are empty until the first step fills them
  let beams: (Hypothesis | undefined)[][] = Array.from({ length: items }, () =>
    Array.from({ length: width }, (_, b) => (b === 0 ? start() : undefined)),
  );
  const rows = new Int32Array(items * width * length);
  for (let t = 1; t < length && beams.some((item) => item.some((h) => h && !h.done)); t++) {
    for (const [i, item] of beams.entries())
      for (const [b, h] of item.entries()) rows.set(h?.ids ?? start().ids, (i * width + b) * length);
    const logProbs = await score(rows, items * width);
    beams = beams.map((item, i) => {
      const candidates: Hypothesis[] = [];
      item.forEach((h, b) => {
        if (!h) return;
        if (h.done) {
          candidates.push(h);
          return;
        }
        const at = ((i * width + b) * (length - 1) + t - 1) * vocabulary;
        const next = topTokens(logProbs.subarray(at, at + vocabulary), width);
        for (const id of next) {
          const ids = h.ids.slice();
          ids[t] = id;
          candidates.push({
            ids,
            logProb: h.logProb + logProbs[at + id],
            done: id === PAD || t === length - 1,
          });
        }
      });
      // stable: equal scores keep the candidates' order (earlier hypothesis, then lower id)
      const kept = candidates.sort((x, y) => y.logProb - x.logProb || 0).slice(0, width);
      return Array.from({ length: width }, (_, b) => kept[b]);
    });
  }
  return beams.map((item) => {
    const best = item[0] as Hypothesis;
    return { ids: captionOf(best.ids), logProb: best.logProb };
  });
}

/** The `count` highest entries' indices, highest first (ties: the lower index first). */
export function topTokens(values: Float32Array, count: number): number[] {
  const top: number[] = [];
  for (let id = 0; id < values.length; id++) {
    let at = top.length;
    while (at > 0 && values[top[at - 1]] < values[id]) at--;
    if (at < count) {
      top.splice(at, 0, id);
      if (top.length > count) top.pop();
    }
  }
  return top;
}

/** How a caption decoder is trained (AdamW under warm-up + cosine). */
export interface DecoderTrainOptions {
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  seed: number;
  /** Changes each sampled embedding in place before the step (CapDec's noise), drawing from `rng`. */
  augment?: (embedding: Float32Array, rng: Rng) => void;
  /** Called after each step with its number (from 1) and loss. */
  onStep?: (step: number, loss: number) => void;
}

/**
 * Trains a caption decoder on (embedding, caption) pairs: rows of `embeddings` and the token rows `ids`
 * ([rows, config.length], text-tokens.ts's encodeTexts), random batches with replacement drawn by the
 * seed. Returns the training (its `run` decodes; see decodeCaptions).
 */
export async function trainDecoder(
  embeddings: Matrix,
  ids: Int32Array,
  config: DecoderConfig,
  options: DecoderTrainOptions,
): Promise<Training> {
  const { length, embedDim, vocabulary } = config;
  const rows = embeddings.rows;
  check(
    embeddings.cols === embedDim && ids.length === rows * length,
    "trainDecoder",
    `${embedDim}-d embeddings and a row of ${length} token ids for each`,
    () => `${embeddings.cols}-d, ${ids.length} ids for ${rows} rows`,
  );
  const { batch, seed } = options;
  const training = compiledTraining(
    {
      init: initDecoder(config, seed),
      loss: (p, [e, x, y]) => captionLoss(nextTokenLogProbs(p, e, x, config), y),
    },
    { weightDecay: options.weightDecay, seed },
  );
  const rng = createRng(seed);
  const [e, x] = [new Float32Array(batch * embedDim), new Float32Array(batch * length)];
  const picked = new Int32Array(batch * length);
  const feeds: Tensor32[] = [
    { data: e, dims: [batch, embedDim] },
    { data: x, dims: [batch, length] },
    { data: new Float32Array(batch * (length - 1) * vocabulary), dims: [batch, length - 1, vocabulary] },
  ];
  for (let step = 0; step < options.steps; step++) {
    for (let k = 0; k < batch; k++) {
      const row = rng.int(rows);
      e.set(embeddings.data.subarray(row * embedDim, (row + 1) * embedDim), k * embedDim);
      options.augment?.(e.subarray(k * embedDim, (k + 1) * embedDim), rng);
      picked.set(ids.subarray(row * length, (row + 1) * length), k * length);
    }
    x.set(picked);
    feeds[2] = { data: nextTokenTargets(picked, batch, config), dims: feeds[2].dims };
    const loss = await training.step(feeds, cosineSchedule(step, options.steps, options));
    options.onStep?.(step + 1, loss);
  }
  return training;
}

/** Each of the `rows` rows of `values` `times` times in a row (item-major beams). */
export function repeatRows(values: Float32Array, rows: number, times: number): Float32Array {
  const width = values.length / rows;
  const out = new Float32Array(values.length * times);
  for (let i = 0; i < rows; i++)
    for (let b = 0; b < times; b++)
      out.set(values.subarray(i * width, (i + 1) * width), (i * times + b) * width);
  return out;
}

/**
 * Captions of each row of `embeddings` by a trained decoder (trainDecoder's training): beam search of
 * `width` (1: greedy), all rows' beams scored together.
 */
export async function decodeCaptions(
  training: Training,
  embeddings: Matrix,
  config: DecoderConfig,
  width = 1,
): Promise<Decoded[]> {
  const { embedDim, length } = config;
  const outputs = (p: Params, [e, x]: readonly Tensor[]) => [nextTokenLogProbs(p, e, x, config)];
  // every beam of an item reads the item's embedding (rows are item-major)
  const repeated = repeatRows(embeddings.data, embeddings.rows, width);
  const score: NextTokenScorer = async (rows, n) => {
    const [logProbs] = await training.run(outputs, [
      { data: repeated, dims: [n, embedDim] },
      { data: Float32Array.from(rows), dims: [n, length] },
    ]);
    return logProbs;
  };
  return beamSearch(score, embeddings.rows, config, width);
}
