import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname } from "node:path";
import { InputError } from "../core/errors.js";
import { MAX_IMAGE_BYTES, readBytes } from "../io/files.js";

/** What the explorer's server hands out: the page, the embeddings, and the files named on the command line. */
export interface ExploreAssets {
  html: string;
  /** The float32 rows of A then B. */
  data: Uint8Array;
  /** Each pair's image file (absolute paths), served as image/<pair>. */
  images?: (string | null)[];
  /** Files under URL folders: "model/clip" → {"config.json": path, …}, "ort" → {…}. */
  folders?: Record<string, Record<string, string>>;
  /** Single files by URL name ("transformers.js"). */
  files?: Record<string, string>;
}

/** A running explorer: its URL (with the token) and how to stop it. */
export interface ExploreServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".txt": "text/plain; charset=utf-8",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".gif": "image/gif",
  ".avif": "image/avif",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
};

/** Headers of every answer: no sniffing, no caching, no referrer (the token is in the URL), isolation for threads. */
const HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Content-Security-Policy": "frame-ancestors 'none'",
};

/** Names in a URL folder: letters, digits, dot, dash, underscore; no leading dot (so never ".."). */
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * Serves the explorer on 127.0.0.1 (port 0: a free one) under a random token: /TOKEN/ is the page, and only
 * data.bin, image/<pair>, the named folders' listed files and the named files exist below it. A request
 * without the token gets 403, anything else 404; a Host other than this address gets 403 (DNS rebinding).
 */
export async function serveExplore(assets: ExploreAssets, port = 0): Promise<ExploreServer> {
  const token = randomBytes(18).toString("base64url");
  const prefix = `/${token}/`;
  let hosts: string[] = [];

  const route = async (path: string): Promise<{ body: Uint8Array | string; type: string } | undefined> => {
    if (path === "") return { body: assets.html, type: TYPES[".html"] };
    if (path === "data.bin") return { body: assets.data, type: "application/octet-stream" };
    const image = /^image\/(\d{1,9})$/.exec(path);
    if (image) {
      const file = assets.images?.[Number(image[1])];
      return file ? { body: await readBytes(file, MAX_IMAGE_BYTES), type: typeOf(file) } : undefined;
    }
    const slash = path.lastIndexOf("/");
    const [folder, name] = [path.slice(0, slash), path.slice(slash + 1)];
    const file = SAFE_NAME.test(name)
      ? slash < 0
        ? ownValue(assets.files, name)
        : ownValue(ownValue(assets.folders, folder), name)
      : undefined;
    return file ? { body: await readBytes(file), type: typeOf(file) } : undefined;
  };

  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? "";
    if (!hosts.includes(request.headers.host ?? "")) return end(response, 403);
    if (request.method !== "GET" && request.method !== "HEAD") return end(response, 405);
    if (!hasToken(url, prefix)) return end(response, 403);
    const path = url.slice(prefix.length).split("?")[0];
    const found = path.includes("..") || path.includes("%") ? undefined : await route(path);
    if (!found) return end(response, 404);
    response.writeHead(200, { ...HEADERS, "Content-Type": found.type });
    response.end(request.method === "HEAD" ? undefined : found.body);
  };

  const server: Server = createServer((request, response) => {
    // a named file that went missing or grew past its cap since the start is not there any more
    answer(request, response).catch(() => end(response, 404));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "EADDRINUSE" || e.code === "EACCES"
          ? new InputError("--port", "a free port on 127.0.0.1", `${port} (${e.code})`)
          : e,
      ),
    );
    server.listen(port, "127.0.0.1", resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  hosts = [`127.0.0.1:${bound}`, `localhost:${bound}`];
  return {
    url: `http://127.0.0.1:${bound}${prefix}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function end(response: ServerResponse, status: number): void {
  response.writeHead(status, { ...HEADERS, "Content-Type": "text/plain; charset=utf-8" });
  response.end(`${status}\n`);
}

/** Whether a request path starts with the token's prefix (compared in constant time). */
function hasToken(url: string, prefix: string): boolean {
  const given = Buffer.from(url.slice(0, prefix.length));
  const expected = Buffer.from(prefix);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function ownValue<T>(record: Record<string, T> | undefined, key: string): T | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

function typeOf(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
}
