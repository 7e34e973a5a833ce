/**
 * gapkit's side of the transformer rows of `npm run bench -- train`, in a process of its own as its
 * PyTorch twin (bench/vit_torch.py) runs in one: compiled ViT training steps (or meta-steps) per second on
 * fixed random batches, after five untimed steps (compiling, warming up).
 * With --mnist, trains on MNIST digits instead for SECONDS epochs (see mnistRun).
 * Usage: node .bench/bench/vit_gapkit.js THREADS SECONDS [--meta | --mnist]
 */
import { sliceRows } from "../src/core/matrix.js";
import { createRng } from "../src/core/rng.js";
import { mnistDigits } from "../src/io/mnist.js";
import { initBackends } from "../src/node.js";
import { randomShift, trainClassifier } from "../src/train/autograd/classifier.js";
import { compiledTraining } from "../src/train/autograd/training.js";
import { type VitConfig, vitClassifier, vitLogits, vitMetaClassifier } from "../src/train/autograd/vit.js";

/** The benchmarked architecture, the twin's. */
const BENCH_VIT: VitConfig = {
  image: { channels: 1, height: 28, width: 28, patch: 7 },
  dim: 64,
  heads: 4,
  depth: 2,
  hidden: 256,
  classes: 10,
};
const BATCH = 128;

/**
 * The classifier trained on the `mnist` package's digits (8,010 train, 2,000 held out, seeded split),
 * `epochs` epochs of batch 128, each image shifted by up to 2 pixels at random, AdamW 1e-3 with 5 %
 * warm-up and cosine decay, weight decay 0.05: prints
 * "epoch accuracy seconds" per epoch.
 */
async function mnistRun(epochs: number): Promise<void> {
  const { images, labels } = mnistDigits(0);
  const held = 2000;
  const perEpoch = Math.floor((images.rows - held) / BATCH);
  await trainClassifier(
    vitClassifier(BENCH_VIT, 0),
    (p, x) => vitLogits(p, x, BENCH_VIT),
    { x: sliceRows(images, held, images.rows), labels: labels.subarray(held) },
    { x: sliceRows(images, 0, held), labels: labels.subarray(0, held) },
    {
      classes: 10,
      epochs,
      batch: BATCH,
      lr: 1e-3,
      warmup: Math.round(0.05 * epochs * perEpoch),
      weightDecay: 0.05,
      seed: 0,
      augment: randomShift(28, 28, 2),
      onEpoch: (epoch, accuracy, seconds) => console.log(`${epoch} ${accuracy} ${seconds.toFixed(1)}`),
    },
  );
}

async function main(): Promise<void> {
  const [threads, seconds] = [Number(process.argv[2]), Number(process.argv[3])];
  const meta = process.argv.includes("--meta");
  await initBackends("ort", threads);
  if (process.argv.includes("--mnist")) return mnistRun(seconds);
  const rng = createRng(1);
  const images = () => ({
    data: Float32Array.from({ length: BATCH * 784 }, () => rng.uniform(0, 1)),
    dims: [BATCH, 784],
  });
  const labels = () => ({
    data: Float32Array.from({ length: BATCH * 10 }, (_, k) => (k % 10 === 3 ? 1 : 0)),
    dims: [BATCH, 10],
  });
  const batch = meta ? [images(), labels(), images(), labels()] : [images(), labels()];
  const training = compiledTraining(
    meta ? vitMetaClassifier(BENCH_VIT, 0, 0.1) : vitClassifier(BENCH_VIT, 0),
  );
  for (let i = 0; i < 5; i++) await training.step(batch, 1e-3);
  let steps = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await training.step(batch, 1e-3);
    steps++;
  }
  console.log((steps / ((performance.now() - start) / 1000)).toFixed(2));
}

await main();
