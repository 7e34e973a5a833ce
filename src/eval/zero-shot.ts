import { check } from "../core/errors.js";
import { type GemmBackend, matmul } from "../core/gemm/index.js";
import { colMeans, type Matrix, matrix, normalizeRows } from "../core/matrix.js";

/** Zero-shot classification outcome. */
export interface ZeroShotResult {
  accuracy: number;
  /** Accuracy per class; null for a class with no samples. */
  perClass: (number | null)[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Predicted class of each sample. */
  predictions: Int32Array;
}

/**
 * The class embedding: one normalised text embedding per class, or, when a class has several prompt
 * templates (a templates×d matrix), the normalised mean of their normalised embeddings (CLIP's ensembling).
 */
export function classEmbeddings(classTexts: Matrix | Matrix[]): Matrix {
  if (!Array.isArray(classTexts)) return normalizeRows(classTexts, "zeroShot classTexts");
  check(classTexts.length > 0, "zeroShot classTexts", "at least one class", () => "none");
  const d = classTexts[0].cols;
  const out = matrix(classTexts.length, d);
  classTexts.forEach((templates, c) => {
    check(
      templates.cols === d && templates.rows > 0,
      `zeroShot class ${c}`,
      `≥ 1 template of dimension ${d}`,
      () => `${templates.rows}×${templates.cols}`,
    );
    out.data.set(colMeans(normalizeRows(templates, `zeroShot class ${c}`)), c * d);
  });
  return normalizeRows(out, "zeroShot class means");
}

/** Classifies each image by its most similar class embedding (cosine; ties to the lower class). */
export async function zeroShot(
  images: Matrix,
  classTexts: Matrix | Matrix[],
  labels: ArrayLike<number>,
  options: { backend?: string | GemmBackend } = {},
): Promise<ZeroShotResult> {
  const classes = classEmbeddings(classTexts);
  const k = classes.rows;
  check(images.rows > 0, "zeroShot images", "at least one image", () => "none");
  check(labels.length === images.rows, "zeroShot labels", `one label per image (${images.rows})`, () =>
    String(labels.length),
  );
  check(images.cols === classes.cols, "zeroShot", `class embeddings of dimension ${images.cols}`, () =>
    String(classes.cols),
  );
  for (let i = 0; i < labels.length; i++)
    check(
      Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < k,
      "zeroShot labels",
      `integers in [0, ${k})`,
      () => `${labels[i]} at ${i}`,
    );
  const scores = await matmul(normalizeRows(images, "zeroShot images"), classes, {
    transB: true,
    backend: options.backend,
  });
  const predictions = new Int32Array(images.rows);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < images.rows; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (scores.data[i * k + c] > scores.data[i * k + best]) best = c;
    predictions[i] = best;
    confusion[labels[i]][best]++;
    if (best === labels[i]) correct++;
  }
  const perClass = confusion.map((row, c) => {
    const total = row.reduce((s, v) => s + v, 0);
    return total ? row[c] / total : null;
  });
  return { accuracy: correct / images.rows, perClass, confusion, predictions };
}
