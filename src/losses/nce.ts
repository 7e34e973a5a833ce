import { check } from "../core/errors.js";
import { logSigmoid, sigmoid } from "./siglip.js";

/** NCE loss value and gradients with respect to the model's scores. */
export interface NceResult {
  value: number;
  /** ∂loss/∂(positive score), one per item. */
  gradPositive: Float64Array;
  /** ∂loss/∂(noise score), row-major items × k. */
  gradNoise: Float64Array;
}

/**
 * Noise-contrastive estimation (Gutmann & Hyvärinen 2010) with k noise samples per item from a known noise
 * distribution q: each sample is classified data-vs-noise by the logit score − log(k·q(sample));
 * loss = mean over items of −[log σ(logit⁺) + Σ_noise log σ(−logit⁻)].
 * `positive` (N) and `noise` (N×k) are the model's unnormalised log-scores; `logQPositive` (N) and
 * `logQNoise` (N×k) the noise log-probabilities of the same samples.
 */
export function nceLoss(
  positive: ArrayLike<number>,
  noise: ArrayLike<number>,
  logQPositive: ArrayLike<number>,
  logQNoise: ArrayLike<number>,
): NceResult {
  const n = positive.length;
  check(
    n > 0 && noise.length % n === 0 && noise.length > 0,
    "nceLoss noise",
    `N×k scores for N = ${n} items, k ≥ 1`,
    () => `${noise.length} values`,
  );
  const k = noise.length / n;
  check(
    logQPositive.length === n && logQNoise.length === noise.length,
    "nceLoss",
    "noise log-probabilities shaped like the scores",
    () => `${logQPositive.length} and ${logQNoise.length}`,
  );
  const logK = Math.log(k);
  const gradPositive = new Float64Array(n);
  const gradNoise = new Float64Array(n * k);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const lp = positive[i] - logK - logQPositive[i];
    total -= logSigmoid(lp);
    gradPositive[i] = -sigmoid(-lp) / n;
    for (let j = i * k; j < (i + 1) * k; j++) {
      const ln = noise[j] - logK - logQNoise[j];
      total -= logSigmoid(-ln);
      gradNoise[j] = sigmoid(ln) / n;
    }
  }
  return { value: total / n, gradPositive, gradNoise };
}
