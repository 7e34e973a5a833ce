import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { gapkit, isUserError, scratchDir } from "./run.js";

describe("gapkit data emoji", () => {
  const path = scratchDir("gapkit-data-");

  it("writes the images, captions, pairs map and description, and replaces them when run again", async () => {
    let heldOutImages = 0;
    for (const run of [1, 2]) {
      const r = await gapkit("data", "emoji", "-o", path("emoji"), "--json");
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      heldOutImages = summary.heldOut.images;
      expect(summary).toMatchObject({ images: 3786, captions: 11358, emoji: 1911 });
      expect(summary.train.images + summary.heldOut.images).toBe(3786);
      expect(summary.train.captions + summary.heldOut.captions).toBe(11358);
      expect(summary.credit).toMatch(/CC-BY 4\.0/);
      expect(readdirSync(path("emoji")).sort(), `run ${run}`).toEqual([
        "captions.jsonl",
        "emoji.json",
        "images",
        "pairs.csv",
      ]);
    }
    expect(readdirSync(path("emoji/images"))).toHaveLength(3786);
    expect(readdirSync(dirname(path("emoji"))).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    const captions = readFileSync(path("emoji/captions.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(captions[0]).toEqual({ id: 0, text: "grinning face", image: "1f600.png" });
    const pairs = readFileSync(path("emoji/pairs.csv"), "utf8").trim().split("\n");
    expect(pairs[0]).toBe("image,text");
    expect(pairs).toHaveLength(captions.length + 1);
    for (const line of pairs.slice(1, 50)) {
      const [image, id] = line.split(",");
      expect(captions[Number(id)].image).toBe(image);
      expect(existsSync(path(`emoji/images/${image}`))).toBe(true);
    }
    const description = JSON.parse(readFileSync(path("emoji/emoji.json"), "utf8"));
    expect(description.images.filter((i: { split: string }) => i.split === "heldOut")).toHaveLength(
      heldOutImages,
    );
  }, 60_000);

  it("is a user error for a file in place of the folder or a held-out fraction outside [0, 0.99]", async () => {
    writeFileSync(path("file"), "x");
    for (const args of [
      ["-o", path("file")],
      ["-o", path("x"), "--held-out", "1.5"],
      ["-o", path("x"), "--seed", "a"],
      [],
    ]) {
      const r = await gapkit("data", "emoji", ...args);
      expect(isUserError(r), `${args.join(" ")}: ${r.stderr}`).toBe(true);
    }
    expect(existsSync(path("x/images"))).toBe(false);
  });
});
