import { check } from "../core/errors.js";
import type { AlbefObjective } from "../train/albef.js";
import {
  type AlbefEvaluation,
  type AlbefShape,
  type CaptionedImages,
  evaluateAlbef,
  type TrainedAlbef,
  trainAlbef,
} from "../train/albef-training.js";
import { parametersToNpz } from "../train/autograd/training.js";
import { type Experiment, type FileSink, type OverSeeds, summarise } from "./experiment.js";

/** The variants `experiment albef` can train: which losses join ITC, with or without momentum distillation. */
export const ALBEF_VARIANTS: Readonly<Record<string, AlbefObjective>> = {
  itc: { itm: false, mlm: false, alpha: 0.4 },
  "itc+itm": { itm: true, mlm: false, alpha: 0.4 },
  "itc+itm+mlm": { itm: true, mlm: true, alpha: 0.4 },
  "all-no-md": { itm: true, mlm: true, alpha: 0 },
};

/**
 * ALBEF-mini's shape (issue 27): a small conv stem (4×4 patches of 64×64 images to 32 features, a 2×2
 * merge to 64, a 2×2 merge to the 16 tokens) and transformers of d 128, 4 heads, 4 + 2 + 2 layers. The
 * stem's 16 tokens make a step ≈ 1.6× faster than 8×8 patches' 64 (docs/methods.md#albef-mini has the
 * comparison), which the 20-minute default table needs.
 */
export const ALBEF_MINI: AlbefShape = {
  image: { channels: 3, height: 64, width: 64, patch: 4, stem: [32, 64] },
  dim: 128,
  heads: 4,
  hidden: 256,
  imageDepth: 4,
  textDepth: 2,
  fusionDepth: 2,
  embedDim: 64,
};

/** The training settings every variant shares (ALBEF's weight decay, momentum and α; a smaller queue). */
export const ALBEF_TRAINING = {
  lr: 5e-4,
  warmup: 50,
  weightDecay: 0.02,
  queueSize: 512,
  momentum: 0.995,
  maxShift: 4,
};

/** Points of a training-loss curve in the result: windows of steps, each its mean loss over the seeds. */
const CURVE_POINTS = 50;

/** The loss curve of runs (one loss per step each): the mean over runs and over windows of steps. */
function lossCurve(runs: readonly Float64Array[]): { step: number; loss: number }[] {
  const steps = runs[0].length;
  const window = Math.ceil(steps / CURVE_POINTS);
  return Array.from({ length: Math.ceil(steps / window) }, (_, w) => {
    const [from, to] = [w * window, Math.min(steps, (w + 1) * window)];
    let total = 0;
    for (const losses of runs) for (let k = from; k < to; k++) total += losses[k];
    return { step: to, loss: total / (runs.length * (to - from)) };
  });
}

/** One run's held-out numbers (the evaluation's, without chance) and its seconds. */
type RunNumbers = Omit<AlbefEvaluation, "chance"> & { seconds: number };

/** One variant's held-out numbers and seconds over seeds (null: a loss it does not train). */
export type AlbefVariantResult = OverSeeds<RunNumbers>;

/** `experiment albef`'s result. */
export interface AlbefResult {
  chance: { i2t: number; t2i: number };
  variants: Record<string, AlbefVariantResult>;
  /** Each variant's training loss, the mean over seeds of windows of steps. */
  curves: Record<string, { step: number; loss: number }[]>;
  heldOut: { images: number; captions: number };
}

/** Writes a trained model into `sink`: its parameters (.npz, by name) and a description (shape, vocabulary). */
async function saveModel(sink: FileSink, trained: TrainedAlbef, steps: number): Promise<void> {
  await sink.write("albef-itc.npz", parametersToNpz(trained.training, trained.model));
  const description = { config: trained.config, vocabulary: trained.vocabulary.tokens, steps };
  await sink.write("albef-itc.json", new TextEncoder().encode(`${JSON.stringify(description, null, 1)}\n`));
}

/** ALBEF (Li et al. 2021) at a scale that trains on 2 cores: what ITM, MLM and momentum distillation add. */
export const albef: Experiment = {
  name: "albef",
  summary:
    "ALBEF-mini on the built-in emoji set: train each variant (ITC, +ITM, +MLM, without momentum distillation) over seeds; held-out retrieval by ITC and after ITM re-ranking, ITM/MLM accuracy, gap and cones",
  reproduces: "ALBEF (Li et al. 2021), Tables 1–2 and the momentum-distillation ablation, scaled down",
  params: {
    data: {
      kind: "emoji",
      doc: "the built-in emoji set (Twemoji images, CLDR captions; 20 % of emoji held out)",
    },
    variants: {
      kind: "choices",
      default: Object.keys(ALBEF_VARIANTS),
      choices: Object.keys(ALBEF_VARIANTS),
      doc: "variants to train",
    },
    // the defaults fit the budget: 4 variants × 3 seeds in under 20 minutes on 2 cores
    steps: { kind: "integer", default: 400, min: 1, max: 1_000_000, doc: "training steps per run" },
    seeds: {
      kind: "integer",
      default: 3,
      min: 1,
      max: 100,
      doc: "runs per variant (seeds seed, seed + 1, …)",
    },
    batch: {
      kind: "integer",
      default: 16,
      min: 2,
      max: 1024,
      doc: "images per step (a divisor of the queue's 512)",
    },
    noisy: {
      kind: "number",
      default: 0,
      min: 0,
      max: 0.9,
      doc: "fraction of training captions moved to a random other image (web-like noise)",
    },
    seed: { kind: "integer", default: 0, doc: "the first run's seed" },
    save: {
      kind: "folder",
      doc: "write the first seed's itc model here (a CLIP-mini): albef-itc.npz, its parameters by name, and albef-itc.json, its shape and vocabulary",
    },
  },
  async run(p, onProgress) {
    const data = p.data as CaptionedImages;
    const variants = p.variants as string[];
    const [steps, seeds, batch] = [p.steps, p.seeds, p.batch] as number[];
    check(
      ALBEF_TRAINING.queueSize % batch === 0,
      "albef --batch",
      `a divisor of the queue size ${ALBEF_TRAINING.queueSize}`,
      () => String(batch),
    );
    const total = variants.length * seeds * steps;
    let done = 0;
    const results: Record<string, AlbefVariantResult> = {};
    const curves: Record<string, { step: number; loss: number }[]> = {};
    let chance: AlbefEvaluation["chance"] | undefined;
    for (const name of variants) {
      const objective = ALBEF_VARIANTS[name];
      const runs: RunNumbers[] = [];
      const losses: Float64Array[] = [];
      for (let s = 0; s < seeds; s++) {
        const runLosses = new Float64Array(steps);
        losses.push(runLosses);
        const start = performance.now();
        const trained = await trainAlbef(data, ALBEF_MINI, {
          ...ALBEF_TRAINING,
          objective,
          steps,
          batch,
          noisy: p.noisy as number,
          seed: (p.seed as number) + s,
          onStep: (step, _, loss) => {
            runLosses[step - 1] = loss;
            onProgress?.(done + step, total);
          },
          onEpoch: (epoch, loss) =>
            onProgress?.(
              done,
              total,
              `${name} seed ${(p.seed as number) + s}: epoch ${epoch}, mean loss ${loss.toFixed(3)}`,
            ),
        });
        done += steps;
        const sink = p.save as FileSink | undefined;
        if (sink && name === "itc" && s === 0) await saveModel(sink, trained, steps);
        const evaluation = await evaluateAlbef(trained, data, { seed: (p.seed as number) + s });
        chance = evaluation.chance;
        const { chance: _, ...numbers } = evaluation;
        runs.push({ ...numbers, seconds: (performance.now() - start) / 1000 });
      }
      results[name] = summarise(runs);
      curves[name] = lossCurve(losses);
    }
    const held = data.heldOut.filter(Boolean).length;
    const result: AlbefResult = {
      chance: chance as AlbefEvaluation["chance"],
      variants: results,
      curves,
      heldOut: { images: held, captions: data.captions.filter(({ image }) => data.heldOut[image]).length },
    };
    return result;
  },
};
