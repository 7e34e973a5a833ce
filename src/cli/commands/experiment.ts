import { join } from "node:path";
import { type Command, Option } from "commander";
import { InputError } from "../../core/errors.js";
import { selectRows } from "../../core/matrix.js";
import { emojiCaptionedImages } from "../../io/emoji.js";
import {
  checkOutputPath,
  outputFolder,
  readArrayFile,
  readCachedFile,
  readPairFile,
  writeFileAtomic,
} from "../../io/files.js";
import { fashionMnist } from "../../io/idx.js";
import { mnistDigits, mnistPairs } from "../../io/mnist.js";
import type { ImageSetName, ImageSets, LabelledImageSet } from "../../sim/experiment.js";
import { EXPERIMENTS, type ExperimentName, type ExperimentParam, type ParamValues } from "../../sim/index.js";
import { EXPERIMENT_TABLES } from "../experiment-tables.js";
import { backendOption, initCliBackends, parseInteger, parseNumber, parseNumberList } from "../options.js";
import { printResult } from "../output.js";
import { stderrLine, stderrProgress } from "../progress.js";
import { table } from "../table.js";

/** The built-in labelled image sets, each loaded once on first use. */
const builtinImageSets: ImageSets = (() => {
  const loaded = new Map<ImageSetName, Promise<LabelledImageSet>>();
  const load = (name: ImageSetName): Promise<LabelledImageSet> => {
    if (name === "mnist") {
      const { images, labels } = mnistDigits(0);
      return Promise.resolve({ labels, height: 28, width: 28, images: (rows) => selectRows(images, rows) });
    }
    return fashionMnist(name === "fashion-mnist-train" ? "train" : "t10k");
  };
  return (name) => {
    let set = loaded.get(name);
    if (!set) {
      set = load(name);
      loaded.set(name, set);
    }
    return set;
  };
})();

/** How many built-in image–caption pairs an experiment may load. */
const BUILTIN_PAIRS = [10, 10_000] as const;

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A numbers parameter's default as the user would type it: START:END:STEP for a progression of ≥ 4 values. */
export function listDefault(spec: Extract<ExperimentParam, { kind: "numbers" }>): string {
  const list = spec.default;
  const listed = list.join(",");
  if (list.length < 4) return listed;
  const [first, last] = [list[0], list.at(-1)!];
  const step = Number((list[1] - first).toPrecision(12));
  if (!(step > 0 && Math.abs((last - first) / step - (list.length - 1)) < 1e-6)) return listed;
  const range = `${first}:${last}:${step}`;
  // shown only where it parses back to exactly the default list
  const parsed = parseNumberList(range, "default", spec);
  return parsed.length === list.length && parsed.every((v, i) => v === list[i]) ? range : listed;
}

function option(name: string, spec: ExperimentParam): Option | undefined {
  const flag = `--${kebab(name)}`;
  switch (spec.kind) {
    case "boolean":
      return spec.default
        ? new Option(`--no-${kebab(name)}`, `not: ${spec.doc}`)
        : new Option(flag, spec.doc);
    case "pair":
    case "array":
      return new Option(`${flag} <file.npy>`, spec.doc);
    case "builtin":
      return new Option(`${flag} <pairs>`, `${spec.doc} (in [${BUILTIN_PAIRS.join(", ")}])`).default(
        String(spec.pairs),
      );
    case "numbers":
      return new Option(
        `${flag} <list>`,
        `${spec.doc} (a,b,c or START:END:STEP; at most ${spec.maxCount} ${spec.integer ? "integers" : "values"} in [${spec.min}, ${spec.max}])`,
      ).default(listDefault(spec));
    case "choice":
      return new Option(`${flag} <value>`, spec.doc).choices(spec.choices).default(spec.default);
    case "choices":
      return new Option(
        `${flag} <list>`,
        `${spec.doc} (${spec.all ? "all, or " : ""}comma-separated: ${spec.choices.join(", ")})`,
      ).default(spec.all && spec.default.length === spec.choices.length ? "all" : spec.default.join(","));
    case "emoji":
    case "image-sets":
      return undefined; // built in, not chosen
    case "folder":
    case "cache":
      return new Option(`${flag} <dir>`, spec.doc);
    default:
      return new Option(
        `${flag} <${spec.kind}>`,
        spec.max === undefined ? spec.doc : `${spec.doc} (in [${spec.min}, ${spec.max}])`,
      ).default(String(spec.default));
  }
}

async function resolve(
  name: string,
  spec: ExperimentParam,
  raw: unknown,
  seed: number,
): Promise<ParamValues[string]> {
  const flag = `--${kebab(name)}`;
  switch (spec.kind) {
    case "boolean":
    case "choice":
      return raw as boolean | string;
    case "numbers":
      return parseNumberList(String(raw), flag, spec);
    case "builtin":
      return mnistPairs(parseInteger(String(raw), flag, ...BUILTIN_PAIRS), seed);
    case "choices": {
      if (spec.all && raw === "all") return [...spec.choices];
      const picked = String(raw).split(",");
      for (const choice of picked)
        if (!spec.choices.includes(choice))
          throw new InputError(
            flag,
            `${spec.all ? "all, or " : ""}a comma-separated list of ${spec.choices.join(", ")}`,
            JSON.stringify(choice),
          );
      if (new Set(picked).size !== picked.length)
        throw new InputError(flag, "each choice at most once", JSON.stringify(String(raw)));
      return picked;
    }
    case "emoji":
      return emojiCaptionedImages();
    case "image-sets":
      return builtinImageSets;
    case "cache":
    case "folder": {
      if (raw === undefined) return undefined;
      const path = String(raw);
      await outputFolder(
        path,
        [],
        flag,
        spec.kind === "cache" ? "the cached files" : "the experiment's files",
      );
      // a FileCache, which is a FileSink too
      return {
        path,
        read: (name: string) => readCachedFile(join(path, name)),
        write: (name: string, bytes: Uint8Array) => writeFileAtomic(join(path, name), bytes),
      };
    }
    case "pair":
    case "array":
      if (raw === undefined) {
        if (spec.required)
          throw new InputError(
            flag,
            spec.kind === "pair" ? "a (2, N, d) embedding file" : "an array file",
            "none",
          );
        return undefined;
      }
      return spec.kind === "pair" ? readPairFile(String(raw)) : readArrayFile(String(raw));
    case "integer":
      return parseInteger(String(raw), flag, spec.min, spec.max);
    case "number":
      return parseNumber(String(raw), flag, spec.min, spec.max);
  }
}

/** `gapkit experiment list | NAME`: the Mind the Gap experiments, deterministic for a seed. */
export function registerExperiment(program: Command): void {
  const group = program
    .command("experiment")
    .description("reproduce the Mind the Gap experiments (seeded, one command each)");
  group
    .command("list")
    .description("list the experiments")
    .option("--json", "print JSON")
    .action((flags: { json?: boolean }) => {
      const rows = Object.values(EXPERIMENTS).map((e) => ({
        name: e.name,
        reproduces: e.reproduces,
        summary: e.summary,
      }));
      printResult(rows, flags.json, (r) =>
        table(
          r.map((e) => [e.name, `${e.summary} (${e.reproduces})`]),
          { textColumns: 2 },
        ),
      );
    });
  for (const exp of Object.values(EXPERIMENTS)) {
    const command = group.command(exp.name).description(`${exp.summary} — ${exp.reproduces}`);
    // file inputs may also be given positionally, in order: `experiment landscape FILE.npy`
    const files = Object.entries(exp.params).filter(
      ([, spec]) => spec.kind === "pair" || spec.kind === "array",
    );
    for (const [name, spec] of files) command.argument(`[${name}]`, spec.doc);
    for (const [name, spec] of Object.entries(exp.params)) {
      const flag = option(name, spec);
      if (flag) command.addOption(flag);
    }
    backendOption(command)
      .option("--json", "print the result as JSON")
      .option(
        "-o, --output <result.json>",
        "also write the JSON result to a file (atomically; -: on stdout, instead of the summary)",
      )
      .action(async (...args: unknown[]) => {
        const flags = args[files.length] as Record<string, unknown>;
        files.forEach(([name], i) => {
          if (args[i] !== undefined && flags[name] !== undefined)
            throw new InputError(`--${kebab(name)}`, "the file once, as an argument or as the flag", "both");
          flags[name] ??= args[i];
        });
        if (flags.output) await checkOutputPath(String(flags.output), "--output");
        await initCliBackends(flags.backend as string | undefined);
        const params: ParamValues = {};
        // the built-in data set is sampled with the experiment's own seed
        const seed = flags.seed === undefined ? 0 : parseInteger(String(flags.seed), "--seed");
        // data last: a bad flag is reported before the built-in images are decoded
        const isData = (spec: ExperimentParam) => spec.kind === "emoji" || spec.kind === "builtin";
        const ordered = Object.entries(exp.params).sort(
          ([, x], [, y]) => Number(isData(x)) - Number(isData(y)),
        );
        const resolved: ParamValues = {};
        for (const [name, spec] of ordered) resolved[name] = await resolve(name, spec, flags[name], seed);
        for (const name of Object.keys(exp.params)) params[name] = resolved[name];
        const progress = stderrProgress(exp.name);
        const result = {
          experiment: exp.name,
          reproduces: exp.reproduces,
          params: printable(params),
          result: await exp.run(params, (done, total, detail) =>
            detail ? stderrLine(`${exp.name}: ${detail}`) : progress(done, total),
          ),
        };
        if (flags.output)
          await writeFileAtomic(
            String(flags.output),
            new TextEncoder().encode(`${JSON.stringify(result)}\n`),
          );
        // file inputs are named in the table by the paths given
        const tableParams = { ...params, ...Object.fromEntries(files.map(([name]) => [name, flags[name]])) };
        if (flags.output !== "-")
          printResult(result, flags.json as boolean | undefined, (r) =>
            EXPERIMENT_TABLES[exp.name as ExperimentName](r.result, tableParams),
          );
      });
  }
}

/** Parameters as JSON: loaded pairs are shown by their shape. */
function printable(params: ParamValues): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => [
      k,
      typeof v === "function"
        ? "built-in image sets"
        : v && typeof v === "object" && "write" in v
          ? v.path
          : v && typeof v === "object" && "pixels" in v
            ? `built-in emoji, ${v.pixels.rows} images, ${v.captions.length} captions`
            : v && typeof v === "object" && "images" in v
              ? `built-in MNIST, ${v.images.rows} pairs`
              : v && typeof v === "object" && "a" in v
                ? `${v.a.rows} pairs × ${v.a.cols}`
                : v && typeof v === "object" && "shape" in v
                  ? `array (${v.shape.join(", ")})`
                  : v,
    ]),
  );
}
