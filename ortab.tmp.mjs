import * as ort from "onnxruntime-node";
const [path, shapesJson, spin] = process.argv.slice(2);
const s = await ort.InferenceSession.create(path, { intraOpNumThreads: Number(process.env.T ?? 2), interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all", enableCpuMemArena: true, extra: { session: { intra_op: { allow_spinning: spin } } } });
const shapes = JSON.parse(shapesJson);
const feeds = {};
s.inputNames.forEach((name) => { const dims = shapes[name]; const n = dims.reduce((a, b) => a * b, 1); feeds[name] = new ort.Tensor("float32", Float32Array.from({ length: n }, () => Math.random() * 0.1), dims); });
for (let k = 0; k < 100; k++) await s.run(feeds);
const t = performance.now(); for (let k = 0; k < 300; k++) await s.run(feeds); console.log(path, "spin", spin, "ms/run", ((performance.now() - t) / 300).toFixed(2));
