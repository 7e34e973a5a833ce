/**
 * gapkit's side of row (a) of `npm run bench -- train`, in a process of its own as its PyTorch twin
 * (bench/clip_torch.py) runs in one: the dual encoder (batch 256, towers 512→256→128, CLIP loss, Adam)
 * trained for three epochs of 96 steps on 24,640 random rows a side, after one untimed training (compiling,
 * warming up). Prints steps per second two ways: the steps alone, as the twin times its loop (each step from
 * the end of the one before: gathering the batch, the compiled graph, AdamW; not the first step of an epoch,
 * which follows the epoch's held-out evaluation), and the whole of train() (every evaluation included).
 * Usage: node .bench/bench/clip_gapkit.js THREADS
 */
import { createRng } from "../src/core/rng.js";
import { initBackends } from "../src/node.js";
import { DEFAULT_TRAIN_CONFIG, initTraining, train } from "../src/train/trainer.js";

async function main(): Promise<void> {
  await initBackends("ort", Number(process.argv[2]));
  const [perEpoch, epochs, batch, dim] = [96, 3, 256, 512];
  const rng = createRng(0);
  const n = perEpoch * batch + 64;
  const [a, b] = [rng.normalMatrix(n, dim), rng.normalMatrix(n, dim)];
  const config = { ...DEFAULT_TRAIN_CONFIG, epochs, batch, widths: [256, 128], heldOut: 64 / n };
  await train(a, b, initTraining(config, dim));
  const state = initTraining(config, dim); // drawing the initial weights is not a step: not timed
  const ends: number[] = [];
  const start = performance.now();
  await train(a, b, state, { onStep: () => void ends.push(performance.now()) });
  const whole = (perEpoch * epochs) / ((performance.now() - start) / 1000);
  let [timed, seconds] = [0, 0];
  for (let k = 1; k < ends.length; k++)
    if (k % perEpoch !== 0) [timed, seconds] = [timed + 1, seconds + (ends[k] - ends[k - 1]) / 1000];
  console.log(`${(timed / seconds).toFixed(2)} ${whole.toFixed(2)}`);
}

await main();
