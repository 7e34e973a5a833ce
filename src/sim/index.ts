import { InputError } from "../core/errors.js";
import { albef } from "./albef.js";
import { coneInits, coneMlp } from "./cone.js";
import { decode } from "./decode.js";
import type { Experiment } from "./experiment.js";
import { initGap, landscape } from "./files.js";
import { mismatch, sphere } from "./sphere.js";
import { bind, trainTemperature } from "./training.js";
import { transfer } from "./transfer.js";
import { fairness, shiftEval } from "./zero-shot-shift.js";

export type { Experiment, ExperimentParam, ParamValues } from "./experiment.js";

// keyed by literal names, so that ExperimentName lists them (each key is its experiment's name)
const REGISTRY = {
  "cone-mlp": coneMlp,
  "cone-inits": coneInits,
  "init-gap": initGap,
  landscape,
  sphere,
  mismatch,
  "shift-eval": shiftEval,
  fairness,
  "train-temperature": trainTemperature,
  bind,
  albef,
  transfer,
  decode,
};

/** The name of a registered experiment. */
export type ExperimentName = keyof typeof REGISTRY;

/** Every experiment, by name (`gapkit experiment list` prints these). */
export const EXPERIMENTS: Readonly<Record<string, Experiment>> = REGISTRY;

/** The experiment registered under `name`. */
export function experiment(name: string): Experiment {
  const found = Object.hasOwn(EXPERIMENTS, name) ? EXPERIMENTS[name] : undefined;
  if (!found)
    throw new InputError("experiment", `one of ${Object.keys(EXPERIMENTS).join(", ")}`, JSON.stringify(name));
  return found;
}
