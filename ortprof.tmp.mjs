import * as ort from "onnxruntime-node";
import { readFileSync, readdirSync, rmSync } from "node:fs";
const [path, shapesJson] = process.argv.slice(2);
const s = await ort.InferenceSession.create(path, { enableProfiling: true, profileFilePrefix: "/tmp/ortprof_x", intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all", enableCpuMemArena: true, extra: { session: { intra_op: { allow_spinning: "0" } } } });
const shapes = JSON.parse(shapesJson);
const feeds = {};
s.inputNames.forEach((name) => { const dims = shapes[name]; const n = dims.reduce((a, b) => a * b, 1); feeds[name] = new ort.Tensor("float32", Float32Array.from({ length: n }, () => Math.random() - 0.5), dims); });
for (let k = 0; k < 200; k++) await s.run(feeds);
s.endProfiling();
await s.release();
const file = readdirSync("/tmp").filter((f) => f.startsWith("ortprof_x")).map((f) => "/tmp/" + f)[0];
const ev = JSON.parse(readFileSync(file, "utf8")); rmSync(file);
const by = new Map(); let total = 0; let nodes = new Set();
for (const e of ev) if (e.cat === "Node" && e.name.endsWith("_kernel_time")) { const op = e.args.op_name; nodes.add(e.name); by.set(op, (by.get(op) ?? 0) + e.dur); total += e.dur; }
console.log(path, "nodes", nodes.size, "kernel ms/run", (total / 200 / 1000).toFixed(2));
for (const [op, d] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log("  ", op.padEnd(22), (d / 200 / 1000).toFixed(3));
