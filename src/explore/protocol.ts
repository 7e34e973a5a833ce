import type { MeasureResult } from "../gap/measure.js";
import type { ExploreSettings, Neighbour } from "./session.js";

/** What the page sends its worker; every request but `open` carries an id its reply echoes. */
export type ExploreRequest =
  | {
      type: "open";
      rows: number;
      dim: number;
      a: Float32Array;
      b: Float32Array;
      groups?: Int32Array;
      pairwiseMax: number;
      seed: number;
    }
  | { type: "view"; id: number; settings: ExploreSettings }
  | { type: "neighbours"; id: number; side: "a" | "b"; index: number }
  | { type: "selection"; id: number; indices: Int32Array }
  | { type: "umap"; id: number }
  | { type: "place"; id: number; side: "a" | "b"; vector: Float32Array };

/** A view's numbers and points, as the worker sends them. */
export interface ViewReply {
  type: "view";
  id: number;
  settings: ExploreSettings;
  fitRows: number;
  all: MeasureResult;
  heldOut: MeasureResult;
  /** x, y of every a row then every b row, in the frozen PCA frame. */
  points: Float64Array;
}

/** What the worker sends back. */
export type ExploreReply =
  | { type: "ready"; backend: string; threads: number; points: Float64Array; seconds: number }
  | ViewReply
  | { type: "neighbours"; id: number; side: "a" | "b"; index: number; matches: Neighbour[] }
  | { type: "selection"; id: number; result: MeasureResult }
  | { type: "umap-progress"; id: number; epoch: number; epochs: number }
  | { type: "umap"; id: number; points: Float64Array }
  | { type: "place"; id: number; point: [number, number]; matches: Neighbour[] }
  | { type: "error"; id?: number; message: string }
  /** A view request dropped for a newer one. */
  | { type: "skipped"; id: number };

/** The neighbours a click lists. */
export const NEIGHBOURS = 10;
