#!/usr/bin/env python3
"""Float64 numpy references for gapkit's tests -> tests/fixtures/*.json.

Inputs are drawn in float32 (what gapkit stores) and the references computed from them in float64.
Run: python3 scripts/make_fixtures.py   (CI only reads the JSON it writes)."""
import json
import pathlib
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
rng = np.random.default_rng(20261123)


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def mat(m):
    m = np.asarray(m, dtype=np.float64)
    return {"rows": int(m.shape[0]), "cols": int(m.shape[1]), "data": m.ravel().tolist()}


def pivot_signs(vectors):
    """One sign per column making its largest-magnitude entry positive (first one on ties)."""
    idx = np.abs(vectors).argmax(0)
    return np.where(vectors[idx, np.arange(vectors.shape[1])] < 0, -1.0, 1.0)


def core():
    cases = {}
    products = []
    for m, k, n in [(7, 5, 6), (37, 19, 23), (64, 33, 8), (1, 3, 1), (9, 1, 4)]:
        a, b, bt = f32(m, k), f32(k, n), f32(n, k)
        a64 = a.astype(np.float64)
        products.append({"a": mat(a), "b": mat(b), "bt": mat(bt),
                         "ab": mat(a64 @ b.astype(np.float64)), "abt": mat(a64 @ bt.astype(np.float64).T)})
    cases["matmul"] = products

    x = f32(11, 7, scale=3.0)
    x64 = x.astype(np.float64)
    cases["reductions"] = {
        "x": mat(x),
        "normalized": mat(x64 / np.linalg.norm(x64, axis=1, keepdims=True)),
        "rowNorms": np.linalg.norm(x64, axis=1).tolist(),
        "rowSums": x64.sum(1).tolist(), "colSums": x64.sum(0).tolist(),
        "rowMeans": x64.mean(1).tolist(), "colMeans": x64.mean(0).tolist(),
    }

    c = f32(40, 6) @ f32(6, 6)
    cases["covariance"] = {"x": mat(c), "cov": mat(np.cov(c.astype(np.float64), rowvar=False))}

    s = rng.permutation(5 * 12).reshape(5, 12).astype(np.float32) / 7
    s[2, 3] = s[2, 9] = 100  # a tie: the lower column comes first
    order = np.argsort(-s.astype(np.float64), axis=1, kind="stable")[:, :4]
    cases["topK"] = {"x": mat(s), "k": 4, "indices": order.tolist(),
                     "values": np.take_along_axis(s.astype(np.float64), order, 1).tolist()}

    g = f32(9, 6)
    spd = (g.T @ g).astype(np.float32)
    w, v = np.linalg.eigh(spd.astype(np.float64))
    w, v = w[::-1], v[:, ::-1]
    cases["eigen"] = {"x": mat(spd), "values": w.tolist(), "vectors": mat(v * pivot_signs(v))}

    svds = []
    for shape in [(8, 5), (5, 8)]:
        m = f32(*shape)
        u, sv, vt = np.linalg.svd(m.astype(np.float64), full_matrices=False)
        signs = pivot_signs(vt.T)
        svds.append({"x": mat(m), "values": sv.tolist(), "vectors": mat(vt.T * signs), "left": mat(u * signs)})
    cases["svd"] = svds
    return cases


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "core.json").write_text(json.dumps(core()))
    print(f"wrote {OUT / 'core.json'}")


if __name__ == "__main__":
    main()
