import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExploreServer, serveExplore } from "../../src/cli/explore-server.js";

/** A raw GET (no URL normalisation: "..", "%2e" and "//" reach the server as written). */
function get(
  url: URL,
  path: string,
  { method = "GET", host = url.host }: { method?: string; host?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: url.hostname, port: url.port, path, method, headers: { host } }, (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, body, headers: response.headers }));
    });
    r.on("error", reject);
    r.end();
  });
}

let server: ExploreServer;
let url: URL;
let token: string;
const folder = mkdtempSync(join(tmpdir(), "gapkit-explore-"));

beforeAll(async () => {
  for (const name of ["img0.png", "secret.txt", "config.json", "other.json"])
    writeFileSync(join(folder, name), name);
  server = await serveExplore({
    html: "<!doctype html><title>page</title>",
    data: new Uint8Array([1, 2, 3, 4]),
    images: [join(folder, "img0.png"), null],
    folders: { "model/clip": { "config.json": join(folder, "config.json") } },
  });
  url = new URL(server.url);
  token = url.pathname.split("/")[1];
});
afterAll(() => server?.close());

describe("gapkit explore's server", () => {
  it("binds 127.0.0.1 and a random token of 24 characters", () => {
    expect(url.hostname).toBe("127.0.0.1");
    expect(token).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });

  it("serves the page, the data, the named images and the named model files under the token", async () => {
    const page = await get(url, `/${token}/`);
    expect(page).toMatchObject({ status: 200, body: "<!doctype html><title>page</title>" });
    expect(page.headers).toMatchObject({
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
      "cross-origin-opener-policy": "same-origin",
    });
    expect((await get(url, `/${token}/data.bin`)).body).toBe("\u0001\u0002\u0003\u0004");
    expect(await get(url, `/${token}/image/0`)).toMatchObject({ status: 200, body: "img0.png" });
    expect(await get(url, `/${token}/model/clip/config.json`)).toMatchObject({
      status: 200,
      body: "config.json",
    });
    expect((await get(url, `/${token}/data.bin`, { method: "HEAD" })).status).toBe(200);
  });

  it("answers 403 without the token (or with another) and for a foreign Host", async () => {
    for (const path of [
      "/",
      "/data.bin",
      "/image/0",
      `/${token.slice(1)}x/`,
      `/${token}x/`,
      `/${token}`,
      `/x/${token}/`,
    ])
      expect((await get(url, path)).status, path).toBe(403);
    expect((await get(url, `/${token}/`, { host: "evil.example:80" })).status).toBe(403);
    expect((await get(url, `/${token}/`, { host: `evil.example:${url.port}` })).status).toBe(403);
    expect((await get(url, `/${token}/`, { host: `localhost:${url.port}` })).status).toBe(200);
  });

  it("answers 404 for .., encoded paths, absolute paths and files not named on the command line", async () => {
    for (const path of [
      `/${token}/../${token}/data.bin`,
      `/${token}/model/clip/../../data.bin`,
      `/${token}/model/clip/..%2fother.json`,
      `/${token}/%2e%2e/secret.txt`,
      `/${token}//etc/passwd`,
      `/${token}/${folder}/secret.txt`,
      `/${token}/secret.txt`,
      `/${token}/model/clip/other.json`,
      `/${token}/model/clip/`,
      `/${token}/model/secret.txt`,
      `/${token}/image/1`,
      `/${token}/image/2`,
      `/${token}/image/-1`,
      `/${token}/image/0x0`,
      `/${token}/constructor`,
      `/${token}/model/__proto__/config.json`,
      `/${token}/index.html`,
    ])
      expect((await get(url, path)).status, path).toBe(404);
    expect((await get(url, `/${token}/data.bin`, { method: "POST" })).status).toBe(405);
  });

  it("cannot be reached on another interface", async () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal);
    if (!external) return console.warn("no non-loopback IPv4 interface here: the bind check is the URL's");
    await expect(get(new URL(`http://${external.address}:${url.port}`), `/${token}/`)).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});
