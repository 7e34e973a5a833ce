// The autograd: N-D tensors evaluated in float64 or traced and compiled to onnxruntime (see tensor.ts).
export * from "./classifier.js";
export * from "./compile.js";
export * from "./grad.js";
export * from "./nn.js";
export * from "./ops.js";
export * from "./tensor.js";
export * from "./training.js";
export * from "./vit.js";
