/**
 * `experiment transfer`: cross-modality transfer at a scale that runs on 2 cores (issue 28). A small
 * transformer pretrained on MNIST digits is transferred to a target modality with few labels by five
 * methods — from scratch, vanilla fine-tuning, embedder warm-up, ORCA and MoNA — and each is measured by
 * its target accuracy, the distortion of its source knowledge (a linear probe on held-out digits), the
 * modality knowledge discrepancy it starts fine-tuning from, and the gap between the embedded modalities.
 */
import { check } from "../core/errors.js";
import type { Tensor32 } from "../core/gemm/index.js";
import { type Matrix, matrix, normalizeRows, selectRows } from "../core/matrix.js";
import { createRng, type Rng } from "../core/rng.js";
import { linearProbeError } from "../eval/probe.js";
import { classDiscrepancy } from "../gap/discrepancy.js";
import { gapL2M } from "../gap/metrics.js";
import { accuracyOf, randomShift } from "../train/autograd/classifier.js";
import type { ParamInit, Params } from "../train/autograd/nn.js";
import type { Tensor } from "../train/autograd/tensor.js";
import { compiledTraining, type TrainableModel, type Training } from "../train/autograd/training.js";
import { cosineSchedule } from "../train/optim.js";
import {
  type Embedder,
  type EncoderShape,
  embed,
  embeddedFeatures,
  encode,
  initEmbedder,
  initEncoder,
  initHead,
  isEmbedderParam,
  isEncoderParam,
  monaLoss,
  otddLoss,
  taskLoss,
  transferLogits,
} from "../train/transfer.js";
import {
  cachedTraining,
  type Experiment,
  type FileCache,
  formatMeanSd,
  type ImageSets,
  type LabelledImageSet,
  type MeanSd,
  type OverSeeds,
  settingsHash,
  summarise,
} from "./experiment.js";
import { SIGNAL_CLASSES, syntheticSignals } from "./signals.js";

/** The methods, in the order of the table. */
export const TRANSFER_METHODS = ["scratch", "vanilla", "emb", "orca", "mona"] as const;

/** A transfer method. */
export type TransferMethod = (typeof TRANSFER_METHODS)[number];

/** Labelled rows of one modality. */
interface Labelled {
  readonly x: Matrix;
  readonly labels: Int32Array;
}

/** Labelled rows read on demand (a pool to draw few-shot examples from). */
type Pool = Pick<LabelledImageSet, "labels" | "images">;

/** A target modality: its embedder, its classes, and its labelled pool (few-shot draws) and test rows. */
interface Target {
  readonly summary: string;
  readonly classes: number;
  readonly embedder: Embedder;
  load(sets: ImageSets): Promise<{ pool: Pool; test: Labelled }>;
}

/** Tokens per input of every embedder here (16 patches, 16 chunks): the encoder takes any count. */
const TOKENS = 16;

/** 28×28 grey images cut into 16 patches of 7×7: the source's embedder, and Fashion-MNIST's. */
const PATCHES_28: Embedder = { kind: "patch", geometry: { channels: 1, height: 28, width: 28, patch: 7 } };

/** Rows of test data per target (the first of a fixed order). */
const TEST_ROWS = 2000;

/**
 * MNIST (the `mnist` package's 10,000 digits, in the order mnistDigits(0) gives) split by purpose: the
 * source's pretraining, the probe's training and test rows, and the digits-1d target's pool and test rows.
 */
const DIGITS = {
  pretrain: [0, 5000],
  probeTrain: [5000, 6000],
  probeTest: [6000, 7000],
  targetPool: [7000, 8000],
  targetTest: [8000, 10000],
} as const;

/** Rows [from, to) of an image set, with their labels. */
function rowRange(set: Pool, [from, to]: readonly [number, number]): Labelled {
  const rows = Int32Array.from({ length: to - from }, (_, k) => from + k);
  return { x: set.images(rows), labels: set.labels.slice(from, to) };
}

/** Labelled rows in memory as a pool. */
const poolOf = ({ x, labels }: Labelled): Pool => ({ labels, images: (rows) => selectRows(x, rows) });

/** The targets `--target` names. */
export const TRANSFER_TARGETS: Readonly<Record<string, Target>> = {
  fashion: {
    summary: "Fashion-MNIST: 28×28 grey images of clothing, 10 classes (a near modality, other semantics)",
    classes: 10,
    embedder: PATCHES_28,
    async load(sets) {
      const [pool, test] = [await sets("fashion-mnist-train"), await sets("fashion-mnist-test")];
      return { pool, test: rowRange(test, [0, TEST_ROWS]) };
    },
  },
  signal: {
    summary: `synthetic time series of 256 samples in chunks of 16: ${SIGNAL_CLASSES.length} classes of waveforms and ECG-like beats (a far 1-D modality)`,
    classes: SIGNAL_CLASSES.length,
    embedder: { kind: "chunk", length: 256, chunk: 256 / TOKENS },
    async load() {
      const series = (perClass: number, seed: number) => {
        const { rows, labels } = syntheticSignals(perClass, 256, seed);
        return { x: rows, labels };
      };
      return { pool: poolOf(series(100, 1)), test: series(TEST_ROWS / SIGNAL_CLASSES.length, 2) };
    },
  },
  "digits-1d": {
    summary:
      "MNIST digits unseen in pretraining as 1-D sequences of 784 pixels in chunks of 49: the source's own classes in another modality",
    classes: 10,
    embedder: { kind: "chunk", length: 784, chunk: 784 / TOKENS },
    async load(sets) {
      const mnist = await sets("mnist");
      return {
        pool: poolOf(rowRange(mnist, DIGITS.targetPool)),
        test: rowRange(mnist, DIGITS.targetTest),
      };
    },
  },
};

/** The shared encoder: 2 pre-LN blocks of 64 features, 4 heads (issue 26's benchmark transformer). */
const ENCODER: EncoderShape = { dim: 64, heads: 4, depth: 2, hidden: 128 };

/**
 * The source's pretraining on MNIST: AdamW under warm-up + cosine, shifts of up to a pixel — at the
 * default 1,500 steps, 97 % on held-out digits in ≈ 30 s (600 steps at 1e-3 gave 85 %).
 */
const PRETRAIN = { batch: 128, lr: 2e-3, warmup: 50, weightDecay: 0.01, maxShift: 1 };

/**
 * The transfer's settings, chosen once (before any comparison of methods): batches of 64 target rows;
 * stage 1 trains the embedder alone at 1e-3, stage 2 the whole model at 5e-4 (each AdamW, warm-up 20,
 * cosine; 200 and 300 steps by default); MoNA's inner SGD step α = 0.1 and λ = 1; ORCA's Sinkhorn
 * ε = 0.1 × the mean cost, 50 iterations; source batches of 64 from 1,000 pretraining digits.
 */
const TRANSFER = {
  batch: 64,
  stage1: { lr: 1e-3, warmup: 20 },
  stage2: { lr: 5e-4, warmup: 20 },
  weightDecay: 0.01,
  mona: { innerRate: 0.1, lambda: 1 },
  ot: { epsilon: 0.1, iterations: 50 },
  sourceRows: 1000,
} as const;

/** Target test rows whose tokens the gap compares with the probe's test digits' (as many as those). */
const GAP_ROWS = DIGITS.probeTest[1] - DIGITS.probeTest[0];

/** Bumped when the pretraining's code or data change, so that no cached checkpoint of older code is read. */
const CHECKPOINT_VERSION = 1;

/** A stable name for the cached checkpoint of the source pretrained for `steps` with `seed`. */
function checkpointName(seed: number, steps: number): string {
  const hash = settingsHash({ CHECKPOINT_VERSION, ENCODER, PRETRAIN, DIGITS, PATCHES_28, steps });
  return `transfer-source-${hash}-seed${seed}.npz`;
}

/** A sampler of random batches (with replacement) of rows of `rows` ([n, ...rowShape]) and one-hot labels. */
function sampler(
  rows: Tensor32,
  labels: Int32Array,
  classes: number,
  rng: Rng,
  {
    batch = TRANSFER.batch,
    augment,
  }: { batch?: number; augment?: (row: Float32Array, rng: Rng) => void } = {},
): () => Tensor32[] {
  const rowShape = rows.dims.slice(1);
  const width = rowShape.reduce((n, d) => n * d, 1);
  const x = new Float32Array(batch * width);
  const y = new Float32Array(batch * classes);
  return () => {
    y.fill(0);
    for (let k = 0; k < batch; k++) {
      const row = rng.int(labels.length);
      x.set(rows.data.subarray(row * width, (row + 1) * width), k * width);
      augment?.(x.subarray(k * width, (k + 1) * width), rng);
      y[k * classes + labels[row]] = 1;
    }
    return [
      { data: x, dims: [batch, ...rowShape] },
      { data: y, dims: [batch, classes] },
    ];
  };
}

/** Rows of a matrix as a tensor. */
const rowsTensor = (m: Matrix): Tensor32 => ({ data: m.data, dims: [m.rows, m.cols] });

/** `steps` optimiser steps on batches from `next`, the rate under warm-up + cosine decay. */
async function trainSteps(
  training: Training,
  next: () => Tensor32[],
  { steps, lr, warmup }: { steps: number; lr: number; warmup: number },
): Promise<void> {
  for (let step = 0; step < steps; step++)
    await training.step(next(), cosineSchedule(step, steps, { lr, warmup }));
}

/** A training's current parameters as the initial values of a model of the same parameters. */
function snapshot(training: Training, init: Readonly<Record<string, ParamInit>>): Record<string, ParamInit> {
  const values = training.parameters();
  return Object.fromEntries(
    Object.entries(init).map(([name, { shape }]) => [name, { shape, data: Float64Array.from(values[name]) }]),
  );
}

/** A graph an evaluation runs: tensors of parameters and one input to its outputs. */
type Outputs = (p: Params, inputs: readonly Tensor[]) => readonly Tensor[];

/** The encoder's pooled features of embedded tokens. */
const ENCODED: Outputs = (p, [tokens]) => [encode(p, tokens, ENCODER)];

/**
 * An embedder's graphs — its tokens, their mean (ORCA's features) and the model's logits — made once per
 * embedder: a training compiles a graph once per function and input shape, so the same function serves
 * every evaluation.
 */
const embedderGraphs = new Map<Embedder, { tokens: Outputs; pooled: Outputs; logits: Outputs }>();
function graphsOf(embedder: Embedder): { tokens: Outputs; pooled: Outputs; logits: Outputs } {
  let graphs = embedderGraphs.get(embedder);
  if (!graphs) {
    graphs = {
      tokens: (p, [x]) => [embed(p, x, embedder)],
      pooled: (p, [x]) => [embeddedFeatures(p, x, embedder)],
      logits: (p, [x]) => [transferLogits(p, x, embedder, ENCODER)],
    };
    embedderGraphs.set(embedder, graphs);
  }
  return graphs;
}

/** The first output of `outputs` under a training's current parameters on one input. */
async function output(training: Training, outputs: Outputs, input: Tensor32): Promise<Float32Array> {
  const [out] = await training.run(outputs, [input]);
  return out;
}

/** The encoder's pooled features [n, dim] of embedded tokens [n, T, dim] under a training's parameters. */
async function encoded(training: Training, tokens: Tensor32): Promise<Matrix> {
  return matrix(tokens.dims[0], ENCODER.dim, await output(training, ENCODED, tokens));
}

/** Embedded rows: the tokens [n, T, dim] of a training's embedder. */
async function tokensOf(training: Training, embedder: Embedder, rows: Matrix): Promise<Tensor32> {
  const data = await output(training, graphsOf(embedder).tokens, rowsTensor(rows));
  return { data, dims: [rows.rows, TOKENS, ENCODER.dim] };
}

/** The pretrained source: its parameters, its held-out accuracy, and its embedded digits. */
interface Source {
  params: Record<string, ParamInit>;
  accuracy: number;
  probeError: number;
  /**
   * Pretraining digits (MoNA's and ORCA's source batches: their tokens, and the tokens' mean) and the
   * probe's digits, embedded, with labels.
   */
  pool: { tokens: Tensor32; pooled: Tensor32; labels: Int32Array };
  probeTrain: { tokens: Tensor32; labels: Int32Array };
  probeTest: { tokens: Tensor32; labels: Int32Array };
}

/**
 * The source model pretrained on MNIST with `seed` (read from `cache` where it was kept), and what the
 * transfer needs of it.
 */
async function pretrainSource(mnist: Pool, seed: number, steps: number, cache?: FileCache): Promise<Source> {
  const init = {
    ...initEmbedder(PATCHES_28, ENCODER.dim, seed * 1000 + 1),
    ...initEncoder(ENCODER, seed * 1000 + 2),
    ...initHead(ENCODER.dim, 10, seed * 1000 + 3),
  };
  const model: TrainableModel = { init, loss: (p, [x, y]) => taskLoss(p, x, y, PATCHES_28, ENCODER) };
  const { training } = await cachedTraining(cache, checkpointName(seed, steps), async (restore) => {
    const training = compiledTraining(
      { ...model, init: restore?.(init) ?? init },
      { weightDecay: PRETRAIN.weightDecay },
    );
    if (!restore) {
      const train = rowRange(mnist, DIGITS.pretrain);
      const augment = randomShift(28, 28, PRETRAIN.maxShift);
      await trainSteps(
        training,
        sampler(rowsTensor(train.x), train.labels, 10, createRng(seed), { batch: PRETRAIN.batch, augment }),
        { ...PRETRAIN, steps },
      );
    }
    return { model, training };
  });
  const from = DIGITS.pretrain[0];
  const embedded = async (range: readonly [number, number]) => {
    const rows = rowRange(mnist, range);
    return { rows, tokens: await tokensOf(training, PATCHES_28, rows.x), labels: rows.labels };
  };
  const [pool, probeTrain, probeTest] = [
    await embedded([from, from + TRANSFER.sourceRows]),
    await embedded(DIGITS.probeTrain),
    await embedded(DIGITS.probeTest),
  ];
  const graphs = graphsOf(PATCHES_28);
  const logits = await output(training, graphs.logits, rowsTensor(probeTest.rows.x));
  const pooled = await output(training, graphs.pooled, rowsTensor(pool.rows.x));
  return {
    params: snapshot(training, init),
    accuracy: accuracyOf(logits, probeTest.labels),
    probeError: await probeError(training, probeTrain, probeTest),
    pool: { ...pool, pooled: { data: pooled, dims: [pool.rows.x.rows, ENCODER.dim] } },
    probeTrain,
    probeTest,
  };
}

/** The linear-probe error on the probe's test digits of a training's encoder (features of embedded digits). */
async function probeError(
  training: Training,
  train: { tokens: Tensor32; labels: Int32Array },
  test: { tokens: Tensor32; labels: Int32Array },
): Promise<number> {
  return linearProbeError(
    await encoded(training, train.tokens),
    train.labels,
    await encoded(training, test.tokens),
    test.labels,
  );
}

/** `shots` rows of each of the classes 0 … classes − 1 of a pool, drawn by `seed`. */
function fewShot(pool: Pool, classes: number, shots: number, seed: number): Labelled {
  const rng = createRng(seed);
  const chosen: number[] = [];
  for (let c = 0; c < classes; c++) {
    const rows: number[] = [];
    pool.labels.forEach((label, i) => {
      if (label === c) rows.push(i);
    });
    check(
      rows.length >= shots,
      "transfer --shots",
      `at most ${rows.length} (the pool's rows of class ${c})`,
      () => String(shots),
    );
    const order = rng.permutation(rows.length);
    for (let k = 0; k < shots; k++) chosen.push(rows[order[k]]);
  }
  return { x: pool.images(chosen), labels: Int32Array.from(chosen, (row) => pool.labels[row]) };
}

/** One run's numbers (a method, a seed). */
interface RunNumbers {
  accuracy: number;
  sourceProbeError: number;
  discrepancy: number;
  gap: number;
  gapBefore: number;
  seconds: number;
}

/** The first stage's loss of a method (undefined: it has none) on its batch. */
function firstStage(
  method: TransferMethod,
  embedder: Embedder,
): ((p: Params, batch: readonly Tensor[]) => Tensor) | undefined {
  if (method === "emb") return (p, [x, y]) => taskLoss(p, x, y, embedder, ENCODER);
  if (method === "orca")
    return (p, [x, y, source, sourceLabels]) =>
      otddLoss(embeddedFeatures(p, x, embedder), y, source, sourceLabels, TRANSFER.ot);
  if (method === "mona") return (p, batch) => monaLoss(p, batch, embedder, ENCODER, TRANSFER.mona);
  return undefined;
}

/** What every run of a target and seed shares. */
interface RunContext {
  target: Target;
  source: Source;
  shots: Labelled;
  test: Labelled;
  seed: number;
  steps: { stage1: number; stage2: number };
}

/** Trains a target model by `method` (stage 1, where it has one, then fine-tuning all) and measures it. */
async function transferRun(method: TransferMethod, context: RunContext): Promise<RunNumbers> {
  const { target, source, shots, test, seed } = context;
  const start = performance.now();
  const encoder =
    method === "scratch"
      ? initEncoder(ENCODER, seed * 1000 + 12)
      : Object.fromEntries(Object.entries(source.params).filter(([name]) => isEncoderParam(name)));
  const init = {
    ...initEmbedder(target.embedder, ENCODER.dim, seed * 1000 + 11),
    ...encoder,
    ...initHead(ENCODER.dim, target.classes, seed * 1000 + 13),
  };
  const { classes, embedder } = target;
  // under a training's parameters, from the test rows' tokens: the gap between the embedded modalities
  // (the first GAP_ROWS rows' tokens against the probe's test digits'), and the discrepancy of the
  // encoder's class-conditional features (unit rows)
  const gapOf = (tokens: Tensor32) => {
    const unitTokens = (t: Float32Array) =>
      normalizeRows(matrix(t.length / ENCODER.dim, ENCODER.dim, t), "transfer: tokens");
    return gapL2M(
      unitTokens(tokens.data.subarray(0, GAP_ROWS * TOKENS * ENCODER.dim)),
      unitTokens(source.probeTest.tokens.data),
    );
  };
  const measured = async (training: Training) => {
    const tokens = await tokensOf(training, embedder, test.x);
    const unit = (m: Matrix) => normalizeRows(m, "transfer: features");
    const [features, sourceFeatures] = [
      await encoded(training, tokens),
      await encoded(training, source.probeTest.tokens),
    ];
    const discrepancy = await classDiscrepancy(
      unit(features),
      test.labels,
      unit(sourceFeatures),
      source.probeTest.labels,
    );
    return { gap: gapOf(tokens), discrepancy: discrepancy.value };
  };
  const targetBatches = (rng: Rng) => sampler(rowsTensor(shots.x), shots.labels, classes, rng);
  let fineTuneFrom = init;
  let before: { gap: number; discrepancy: number; gapBefore: number } | undefined;
  const stage1 = firstStage(method, embedder);
  if (stage1) {
    const training = compiledTraining(
      { init, loss: stage1 },
      {
        frozen: Object.keys(init).filter((name) => !isEmbedderParam(name)),
        weightDecay: TRANSFER.weightDecay,
      },
    );
    const gapBefore = gapOf(await tokensOf(training, embedder, test.x));
    const next = targetBatches(createRng(seed * 1000 + 14));
    const sourceBatch = (rows: Tensor32) =>
      sampler(rows, source.pool.labels, 10, createRng(seed * 1000 + 15));
    const extra =
      method === "mona"
        ? sourceBatch(source.pool.tokens)
        : method === "orca"
          ? sourceBatch(source.pool.pooled)
          : () => [];
    await trainSteps(training, () => [...next(), ...extra()], {
      ...TRANSFER.stage1,
      steps: context.steps.stage1,
    });
    before = { gapBefore, ...(await measured(training)) };
    fineTuneFrom = snapshot(training, init);
  }
  const training = compiledTraining(
    { init: fineTuneFrom, loss: (p, [x, y]) => taskLoss(p, x, y, embedder, ENCODER) },
    { weightDecay: TRANSFER.weightDecay },
  );
  if (!before) {
    const start = await measured(training);
    before = { ...start, gapBefore: start.gap };
  }
  await trainSteps(training, targetBatches(createRng(seed * 1000 + 16)), {
    ...TRANSFER.stage2,
    steps: context.steps.stage2,
  });
  const logits = await output(training, graphsOf(embedder).logits, rowsTensor(test.x));
  return {
    accuracy: accuracyOf(logits, test.labels),
    sourceProbeError: await probeError(training, source.probeTrain, source.probeTest),
    ...before,
    seconds: (performance.now() - start) / 1000,
  };
}

/** The measures of a method over seeds, as the table and the report show them (see transferCells). */
export const TRANSFER_COLUMNS = ["target acc", "source probe err", "discrepancy", "gap before", "gap after"];

/** A method's measures as mean ± sd cells, in TRANSFER_COLUMNS' order. */
export function transferCells(m: OverSeeds<RunNumbers>): string[] {
  return [m.accuracy, m.sourceProbeError, m.discrepancy, m.gapBefore, m.gap].map(formatMeanSd);
}

/** `experiment transfer`'s result: per method, each number's mean ± sd over the seeds. */
export interface TransferResult {
  target: string;
  shots: number;
  methods: Record<string, OverSeeds<RunNumbers>>;
  /** The pretrained source model: held-out digit accuracy and its encoder's probe error (the reference). */
  source: { accuracy: MeanSd; probeError: MeanSd };
  classes: number;
  testRows: number;
}

/** Cross-modality transfer: what pretraining on images gives a few-shot target modality, by method. */
export const transfer: Experiment = {
  name: "transfer",
  summary:
    "cross-modality transfer of an MNIST-pretrained transformer to a few-shot target (Fashion-MNIST, time series, digits as 1-D sequences) by scratch, vanilla, emb, ORCA and MoNA: target accuracy, source knowledge distortion, modality knowledge discrepancy, gap",
  reproduces: "MoNA (Ma et al. 2024), Figs. 3–4 and Table 1, and ORCA (Shen et al. 2023), scaled down",
  params: {
    target: {
      kind: "choice",
      default: "fashion",
      choices: Object.keys(TRANSFER_TARGETS),
      doc: "the target modality",
    },
    methods: {
      kind: "choices",
      default: TRANSFER_METHODS,
      choices: TRANSFER_METHODS,
      all: true,
      doc: "transfer methods",
    },
    seeds: { kind: "integer", default: 3, min: 1, max: 20, doc: "runs per method (seeds seed, seed + 1, …)" },
    pretrainSteps: {
      kind: "integer",
      default: 1500,
      min: 1,
      max: 1_000_000,
      doc: "steps of the source's pretraining on MNIST (batches of 128)",
    },
    stage1Steps: {
      kind: "integer",
      default: 200,
      min: 1,
      max: 1_000_000,
      doc: "steps of stage 1 (the embedder alone: emb, orca, mona)",
    },
    stage2Steps: {
      kind: "integer",
      default: 300,
      min: 1,
      max: 1_000_000,
      doc: "steps of fine-tuning the whole model (every method)",
    },
    shots: { kind: "integer", default: 20, min: 1, max: 60, doc: "labelled target examples per class" },
    seed: { kind: "integer", default: 0, doc: "the first run's seed" },
    data: {
      kind: "image-sets",
      doc: "MNIST digits (the source) and, for --target fashion, Fashion-MNIST (Debian's dataset-fashion-mnist)",
    },
    cache: {
      kind: "cache",
      doc: "keep each seed's pretrained source model here, and read it back in later runs",
    },
  },
  async run(p, onProgress) {
    const name = p.target as string;
    const target = TRANSFER_TARGETS[name];
    const methods = p.methods as TransferMethod[];
    const [seeds, shots, first] = [p.seeds, p.shots, p.seed] as number[];
    const sets = p.data as ImageSets;
    const { pool, test } = await target.load(sets);
    const mnist = await sets("mnist");
    const total = seeds * (methods.length + 1);
    let done = 0;
    const runs: Record<string, RunNumbers[]> = Object.fromEntries(methods.map((m) => [m, []]));
    const sources: { accuracy: number; probeError: number }[] = [];
    for (let seed = first; seed < first + seeds; seed++) {
      const source = await pretrainSource(
        mnist,
        seed,
        p.pretrainSteps as number,
        p.cache as FileCache | undefined,
      );
      sources.push({ accuracy: source.accuracy, probeError: source.probeError });
      onProgress?.(
        ++done,
        total,
        `seed ${seed}: source accuracy ${source.accuracy.toFixed(3)} on held-out digits`,
      );
      const context: RunContext = {
        target,
        source,
        shots: fewShot(pool, target.classes, shots, seed),
        test,
        seed,
        steps: { stage1: p.stage1Steps as number, stage2: p.stage2Steps as number },
      };
      for (const method of methods) {
        const run = await transferRun(method, context);
        runs[method].push(run);
        onProgress?.(
          ++done,
          total,
          `${name} seed ${seed}: ${method} accuracy ${run.accuracy.toFixed(3)}, source probe error ${run.sourceProbeError.toFixed(3)} (${run.seconds.toFixed(0)} s)`,
        );
      }
    }
    const result: TransferResult = {
      target: name,
      shots,
      methods: Object.fromEntries(methods.map((m) => [m, summarise(runs[m])])),
      source: summarise(sources),
      classes: target.classes,
      testRows: test.labels.length,
    };
    return result;
  },
};
