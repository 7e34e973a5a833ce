import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { measure } from "../../src/gap/measure.js";
import { expectFields } from "../helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`skipping the browser wasm test: ${CHROMIUM} is absent (apt-get install -y chromium)`);

const [N, D] = [2500, 512];

/** A paired set with a gap, shared structure and noise, so every measure number is non-trivial. */
function pairedSet() {
  const rng = createRng(42);
  const a = rng.normalMatrix(N, D);
  const noise = rng.normalMatrix(N, D);
  const b = matrix(
    N,
    D,
    a.data.map((x, i) => 0.6 * x + noise.data[i] + (i % D < 8 ? 3 : 0)),
  );
  return { a, b };
}

// The page loads the browser bundle of src/index.ts; /isolated is served cross-origin isolated (threads),
// /plain without the headers (one thread).
const PAGE = `<!doctype html><script type="module">
import * as gapkit from "/gapkit.js";
window.gapkit = gapkit;
window.ready = true;
</script>`;

let server: Server;
let origin = "";

beforeAll(async () => {
  if (!hasChromium) return;
  const bundle = await build({
    entryPoints: ["src/index.ts"],
    bundle: true,
    format: "esm",
    write: false,
    external: ["@huggingface/transformers"],
  });
  const { a, b } = pairedSet();
  const data = Buffer.concat([Buffer.from(a.data.buffer), Buffer.from(b.data.buffer)]);
  server = createServer((request, response) => {
    const isolation = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
    };
    if (request.url === "/isolated") response.writeHead(200, { "Content-Type": "text/html", ...isolation });
    else if (request.url === "/plain") response.writeHead(200, { "Content-Type": "text/html" });
    else if (request.url === "/gapkit.js")
      response.writeHead(200, { "Content-Type": "text/javascript", ...isolation });
    else if (request.url === "/pairs.bin")
      response.writeHead(200, { "Content-Type": "application/octet-stream", ...isolation });
    else response.writeHead(404);
    response.end(
      request.url === "/gapkit.js" ? bundle.outputFiles[0].text : request.url === "/pairs.bin" ? data : PAGE,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

describe.skipIf(!hasChromium)("measure in headless Chromium on the wasm backend", () => {
  it("gives Node's numbers, on Web Workers when the page is cross-origin isolated and on one thread when not", async () => {
    const { a, b } = pairedSet();
    const expected = JSON.parse(JSON.stringify(await measure(a, b, { backend: "js" })));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      for (const [path, threads] of [
        ["/isolated", 2],
        ["/plain", 1],
      ] as const) {
        const page = await browser.newPage();
        await page.goto(origin + path);
        await page.waitForFunction(() => (globalThis as { ready?: boolean }).ready);
        const run = await page.evaluate(
          async ([n, d, threads]) => {
            // biome-ignore lint/suspicious/noExplicitAny: the bundle's exports, untyped in the page
            const gapkit = (globalThis as any).gapkit;
            const selected = await gapkit.initBrowserBackends(threads);
            const values = new Float32Array(await (await fetch("/pairs.bin")).arrayBuffer());
            const a = gapkit.matrix(n, d, values.slice(0, n * d));
            const b = gapkit.matrix(n, d, values.slice(n * d));
            const result = await gapkit.measure(a, b);
            const backend = gapkit.getBackend();
            return {
              selected,
              isolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated,
              threads: backend.threads,
              instructions: backend.instructions,
              result: JSON.stringify(result),
            };
          },
          [N, D, threads] as const,
        );
        expect(run).toMatchObject({ selected: "wasm", isolated: path === "/isolated", threads });
        expect(run.instructions).toBe("relaxed-simd");
        const got = JSON.parse(run.result);
        expect(got.retrieval).toEqual(expected.retrieval);
        expectFields(got, expected, 1e-6);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});
