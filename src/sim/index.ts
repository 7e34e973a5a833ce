import { InputError } from "../core/errors.js";
import { coneInits, coneMlp } from "./cone.js";
import type { Experiment } from "./experiment.js";
import { initGap, landscape } from "./files.js";
import { mismatch, sphere } from "./sphere.js";
import { bind, trainTemperature } from "./training.js";
import { fairness, shiftEval } from "./zero-shot-shift.js";

export type { Experiment, ExperimentParam, ParamValues } from "./experiment.js";

/** Every experiment, by name (`gapkit experiment list` prints these). */
export const EXPERIMENTS: Readonly<Record<string, Experiment>> = Object.fromEntries(
  [coneMlp, coneInits, initGap, landscape, sphere, mismatch, shiftEval, fairness, trainTemperature, bind].map(
    (e) => [e.name, e],
  ),
);

/** The experiment registered under `name`. */
export function experiment(name: string): Experiment {
  const found = EXPERIMENTS[name];
  if (!found)
    throw new InputError("experiment", `one of ${Object.keys(EXPERIMENTS).join(", ")}`, JSON.stringify(name));
  return found;
}
