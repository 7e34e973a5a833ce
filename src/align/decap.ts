import { z } from "zod";
import { mulF64 } from "../core/gemm/index.js";
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
    if (side === "a") return mapRows(m, state.dim, "decap", (row, out) => out.set(row));
    const { dim, memoryRows: k, tau } = state;
    const memory = Float64Array.from(state.memory);
    // softmax(u·Mᵀ/τ)·M for all rows at once: weights with each row's max subtracted (exp never
    // overflows), unnormalised — the final renormalisation absorbs Σw
    const mix = async (rows: Float64Array, count: number) => {
      const weights = await mulF64(rows, memory, count, dim, k, { transB: true });
      for (let i = 0; i < count; i++) {
        const logits = weights.subarray(i * k, (i + 1) * k);
        let max = -Infinity;
        for (const s of logits) max = Math.max(max, s / tau);
        for (let r = 0; r < k; r++) logits[r] = Math.exp(logits[r] / tau - max);
      }
      return mulF64(weights, memory, count, k, dim);
    };
    return mapRows(m, dim, "decap", (row, out) => out.set(row), mix);
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
