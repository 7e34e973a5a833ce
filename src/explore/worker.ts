// The explorer's worker: every number the page shows is computed here, on the wasm backend.

import { getBackend } from "../core/gemm/index.js";
import { initBrowserBackends } from "../core/gemm/wasm.js";
import { matrix, row } from "../core/matrix.js";
import type { Match } from "../score/scorer.js";
import { type ExploreReply, type ExploreRequest, NEIGHBOURS } from "./protocol.js";
import {
  type ExploreSession,
  type ExploreView,
  exploreView,
  measureSelection,
  neighbourLists,
  openSession,
  placeQuery,
  querySides,
  umapPoints,
  withCosines,
} from "./session.js";

declare const self: DedicatedWorkerGlobalScope;

let session: ExploreSession | undefined;
let view: ExploreView | undefined;
/** Neighbour lists of the current view, per query side, computed on the first click. */
let lists: Partial<Record<"a" | "b", Promise<Match[][]>>> = {};
const queue: ExploreRequest[] = [];
let busy = false;

function reply(message: ExploreReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

async function handle(request: ExploreRequest): Promise<void> {
  if (request.type === "open") {
    const start = performance.now();
    const backend = await initBrowserBackends(self.crossOriginIsolated ? navigator.hardwareConcurrency : 1);
    const a = matrix(request.rows, request.dim, request.a);
    const b = matrix(request.rows, request.dim, request.b);
    session = await openSession(a, b, request);
    view = undefined;
    const points = session.points.slice();
    const threads = (getBackend() as { threads?: number }).threads ?? 1;
    reply({ type: "ready", backend, threads, points, seconds: (performance.now() - start) / 1000 }, [
      points.buffer,
    ]);
    return;
  }
  if (!session) throw new Error("explore worker: no data opened yet");
  if (request.type === "view") {
    view = await exploreView(session, request.settings, view);
    lists = {};
    const { settings, fitRows, all, heldOut } = view;
    const points = view.points.slice();
    reply({ type: "view", id: request.id, settings, fitRows, all, heldOut, points }, [points.buffer]);
    return;
  }
  if (!view) throw new Error("explore worker: no view computed yet");
  const current = view;
  if (request.type === "neighbours") {
    lists[request.side] ??= neighbourLists(current, request.side, NEIGHBOURS);
    const [queries, gallery] = querySides(current, request.side);
    const found = (await lists[request.side]!)[request.index];
    const matches = withCosines(row(queries, request.index), gallery, found);
    reply({ type: "neighbours", id: request.id, side: request.side, index: request.index, matches });
  } else if (request.type === "selection") {
    const result = await measureSelection(session, current, request.indices);
    reply({ type: "selection", id: request.id, result });
  } else if (request.type === "umap") {
    const points = await umapPoints(current, session.seed, (epoch, epochs) =>
      reply({ type: "umap-progress", id: request.id, epoch, epochs }),
    );
    reply({ type: "umap", id: request.id, points }, [points.buffer]);
  } else if (request.type === "place") {
    const placed = await placeQuery(session, current, request.side, request.vector, NEIGHBOURS);
    reply({ type: "place", id: request.id, ...placed });
  }
}

/** Runs requests one at a time; a view request is dropped when a newer one waits (a slider being dragged). */
async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length) {
    const request = queue.shift()!;
    if (request.type === "view" && queue.some((r) => r.type === "view")) {
      reply({ type: "skipped", id: request.id });
      continue;
    }
    try {
      await handle(request);
    } catch (e) {
      reply({ type: "error", id: "id" in request ? request.id : undefined, message: (e as Error).message });
    }
  }
  busy = false;
}

self.onmessage = (event: MessageEvent<ExploreRequest>) => {
  queue.push(event.data);
  void drain();
};
