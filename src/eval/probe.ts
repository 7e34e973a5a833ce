/**
 * A linear probe: how linearly separable a representation's classes are, as scikit-learn's
 * RidgeClassifier (α = 1) on standardised features measures it — a closed form, so the number depends on
 * the features alone, not on an optimiser's settings or its convergence.
 */

import { mulAB, transposed } from "../core/dense64.js";
import { check } from "../core/errors.js";
import { solveSpd } from "../core/linalg.js";
import type { Matrix } from "../core/matrix.js";

/** The ridge penalty α of the probe (RidgeClassifier's default). */
const ALPHA = 1;

/**
 * A linear probe's predicted class for each test row: features standardised by the training rows' mean
 * and standard deviation, targets ±1 per class (one-vs-rest), ridge regression with an intercept (α = 1),
 * and the class of largest score.
 */
export async function linearProbePredictions(
  train: Matrix,
  trainLabels: Int32Array,
  test: Matrix,
): Promise<Int32Array> {
  const d = train.cols;
  check(
    test.cols === d && trainLabels.length === train.rows,
    "linearProbePredictions",
    `train and test features of one dimension (${d}), a label per training row`,
    () => `${train.rows}×${d} (${trainLabels.length} labels), ${test.rows}×${test.cols}`,
  );
  const classes = trainLabels.reduce((top, l) => Math.max(top, l + 1), 0);
  const n = train.rows;
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += train.data[i * d + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sd[j] += (train.data[i * d + j] - mean[j]) ** 2 / n;
  // a constant feature carries nothing: scaled by 1, it stays 0 after centring
  for (let j = 0; j < d; j++) sd[j] = sd[j] > 0 ? Math.sqrt(sd[j]) : 1;
  const standardised = (m: Matrix) => Float64Array.from(m.data, (v, k) => (v - mean[k % d]) / sd[k % d]);
  const x = standardised(train);
  // targets ±1, centred (the intercept is their mean: x is centred)
  const intercept = new Float64Array(classes);
  for (const l of trainLabels) intercept[l] += 2 / n;
  for (let c = 0; c < classes; c++) intercept[c] -= 1;
  const y = new Float64Array(n * classes);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < classes; c++) y[i * classes + c] = (trainLabels[i] === c ? 1 : -1) - intercept[c];
  const xt = transposed(x, n, d);
  const gram = mulAB(xt, d, x, n, d);
  for (let j = 0; j < d; j++) gram[j * d + j] += ALPHA;
  const weights = await solveSpd(gram, d, mulAB(xt, d, y, n, classes), classes);
  const scores = mulAB(standardised(test), test.rows, weights, d, classes);
  return Int32Array.from({ length: test.rows }, (_, i) => {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if (scores[i * classes + c] + intercept[c] > scores[i * classes + best] + intercept[best]) best = c;
    return best;
  });
}

/** The held-out error of the linear probe (linearProbePredictions): the fraction of test rows misclassified. */
export async function linearProbeError(
  train: Matrix,
  trainLabels: Int32Array,
  test: Matrix,
  testLabels: Int32Array,
): Promise<number> {
  check(testLabels.length === test.rows, "linearProbeError", `a label per test row (${test.rows})`, () =>
    String(testLabels.length),
  );
  const predictions = await linearProbePredictions(train, trainLabels, test);
  return predictions.reduce((wrong, p, i) => wrong + (p === testLabels[i] ? 0 : 1), 0) / test.rows;
}
