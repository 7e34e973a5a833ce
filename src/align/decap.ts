import { z } from "zod";
import { type AlignMethod, type AlignState, mapRows, PARAMS } from "./method.js";

/** State of `decap`: a memory of A rows (flat, row-major) and the softmax temperature. */
export interface DecapState extends AlignState {
  readonly kind: "decap";
  readonly memoryRows: number;
  readonly memory: number[];
  readonly tau: number;
}

/**
 * `decap` (DeCap): project b onto a memory M of A embeddings, b' = n(softmax(b·Mᵀ/τ)·M), so B is expressed
 * in A's own region of the sphere; A unchanged. `memory` caps how many fit rows are kept (0: all).
 */
export const decap: AlignMethod<DecapState> = {
  kind: "decap",
  version: 1,
  summary: "DeCap: replace each b by a softmax(b·Mᵀ/τ)-weighted mix of a memory M of A embeddings",
  needsPairs: false,
  params: {
    tau: PARAMS.positive(0.01, "softmax temperature"),
    memory: {
      default: 0,
      doc: "rows of A kept as memory, the first ones (0: all)",
      expected: "an integer ≥ 0",
      valid: (v) => Number.isSafeInteger(v) && v >= 0,
    },
  },
  async fit(a, _b, params) {
    const rows = params.memory === 0 ? a.rows : Math.min(a.rows, params.memory);
    return {
      kind: "decap",
      version: 1,
      dim: a.cols,
      memoryRows: rows,
      memory: Array.from(a.data.subarray(0, rows * a.cols)),
      tau: params.tau,
    };
  },
  apply(state, m, side) {
    const { dim, memoryRows: k, memory, tau } = state;
    const logits = new Float64Array(k);
    return mapRows(m, dim, "decap", (row, out) => {
      if (side === "a") return out.set(row);
      let max = -Infinity;
      for (let r = 0; r < k; r++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += row[j] * memory[r * dim + j];
        logits[r] = s / tau;
        max = Math.max(max, logits[r]);
      }
      // softmax weights (max subtracted, so exp never overflows); the final renormalisation absorbs Σw
      for (let r = 0; r < k; r++) {
        const w = Math.exp(logits[r] - max);
        for (let j = 0; j < dim; j++) out[j] += w * memory[r * dim + j];
      }
    });
  },
  stateSchema: (dim) =>
    z
      .object({
        memoryRows: z.number().int().positive(),
        memory: z.array(z.number()),
        tau: z.number().positive(),
      })
      .refine((s) => s.memory.length === s.memoryRows * dim, {
        message: `memory must hold memoryRows × ${dim} numbers`,
      }),
};
