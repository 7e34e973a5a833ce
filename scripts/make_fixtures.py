#!/usr/bin/env python3
"""Float64 numpy references for gapkit's tests -> tests/fixtures/*.json.

Inputs are drawn in float32 (what gapkit stores) and the references computed from them in float64.
Run: python3 scripts/make_fixtures.py   (CI only reads the JSON it writes)."""
import json
from math import comb
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


def unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def ranks(s, groups=None, gallery=None):
    """Per query (row of s): non-matches scored above its best match, non-matches tied with it, and matches
    at it; the matches of query i are the columns of its group (without groups, column i alone). With groups,
    a gallery column that repeats an earlier row of its group exactly (`gallery`: the rows) is no candidate."""
    g = np.arange(len(s)) if groups is None else np.asarray(groups)
    match = g[:, None] == g[None, :]
    best = np.where(match, s, -np.inf).max(1)[:, None]
    keep = np.ones(len(s), bool)
    if groups is not None:
        seen = set()
        for j, row in enumerate(gallery):
            key = (g[j], row.tobytes())
            keep[j] = key not in seen
            seen.add(key)
    return {"higher": ((s > best) & ~match & keep).sum(1).tolist(),
            "tied": ((s == best) & ~match & keep).sum(1).tolist(),
            "matches": ((s == best) & match & keep).sum(1).tolist()}


def recall(r):
    """R@k and mean rank of the first match, expected over uniformly random tie-breaks: the first k − higher
    tied places all hold non-matches with probability C(tied, f) / C(tied + matches, f)."""
    rows = list(zip(r["higher"], r["tied"], r["matches"]))

    def hit(k):
        return float(np.mean([0.0 if k <= h else 1.0 if k - h > t else 1 - comb(t, k - h) / comb(t + m, k - h)
                              for h, t, m in rows]))

    mean_rank = np.mean([h + 1 + sum(comb(t, x) / comb(t + m, x) for x in range(1, t + 1)) for h, t, m in rows])
    return {"r1": hit(1), "r5": hit(5), "r10": hit(10), "meanRank": float(mean_rank)}


def effective_rank(x):
    s = np.linalg.svd(x, compute_uv=False)
    p = s[s > 0] / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def measure_reference(a, b):
    """Everything `gapkit measure` reports, float64 on rows re-normalised in float64."""
    a, b = unit(a), unit(b)
    n = len(a)
    cone = lambda u: float(((u @ u.T).sum() - n) / (n * (n - 1)))
    iu = np.triu_indices(n, 1)
    unif = lambda u: float(np.log(np.exp(-2 * (2 - 2 * (u @ u.T)[iu])).mean()))
    paired = float((a * b).sum(1).mean())
    ca, cb = cone(a), cone(b)
    d = lambda c: max(1 - (c + 1) / 2, 1e-3)
    s = a @ b.T
    gap = a.mean(0) - b.mean(0)
    x = np.vstack([a, b])
    proj = x @ (gap / np.linalg.norm(gap))
    return {
        "n": n, "dim": int(a.shape[1]),
        "gap": {"l2m": float(np.linalg.norm(gap)), "rmg": d(paired) / (d(paired) + (d(ca) + d(cb)) / 2)},
        "cone": {"a": ca, "b": cb},
        "pairedCos": paired,
        "alignment": float(((a - b) ** 2).sum(1).mean()),
        "uniformity": {"a": unif(a), "b": unif(b)},
        "retrieval": {"aToB": recall(ranks(s)), "bToA": recall(ranks(s.T))},
        "spectrum": {"effectiveRank": {"a": effective_rank(a), "b": effective_rank(b), "joint": effective_rank(x)},
                     "gapVarianceFraction": float(proj.var() / x.var(0).sum())},
        "ranks": {"aToB": ranks(s), "bToA": ranks(s.T)},
    }


def metrics():
    a, b = f32(60, 12), f32(60, 12)
    b[:30] += 0.8 * a[:30]  # half the pairs related, half not
    a += 0.7  # a common offset: each modality in its own cone
    b[7] = b[3]  # duplicate rows tie exactly: each tie is broken at random (R@k and ranks in expectation)
    a[11] = a[5]
    b[20:24] = b[19]  # a caption shared by five pairs
    ref = measure_reference(a, b)
    ref["a"], ref["b"] = mat(a), mat(b)
    return ref


def grouped(pair):
    """Multi-positive retrieval on the metrics pair: groups of three consecutive pairs, and the five pairs
    that share a caption (rows 19–23)."""
    a = np.array(pair["a"]["data"], dtype=np.float32).reshape(pair["a"]["rows"], -1)
    b = np.array(pair["b"]["data"], dtype=np.float32).reshape(pair["b"]["rows"], -1)
    groups = np.arange(len(a)) // 3
    groups[19:24] = 100
    s = unit(a) @ unit(b).T
    r = {"aToB": ranks(s, groups, b), "bToA": ranks(s.T, groups, a)}
    return {"groups": groups.tolist(), "ranks": r, "retrieval": {k: recall(v) for k, v in r.items()}}


def stats():
    """A larger pair for the mergeable statistics: split into 7 uneven shards by the tests."""
    own = np.random.default_rng(7)  # its own stream, so adding it left the other fixtures unchanged
    a, b = (own.standard_normal((2, 203, 16))).astype(np.float32)
    b += 0.6 * a
    a += 0.5
    b -= 0.3
    ref = measure_reference(a, b)
    del ref["ranks"]
    ref["a"], ref["b"] = mat(a), mat(b)
    return ref


def edge():
    """Numerical edge cases (issue 11): a 1e-3 temperature, 1e6-scale inputs, near-ties, d = 4,096, N = 2."""
    own = np.random.default_rng(11)
    out = {}
    # CLIP at τ = 1e-3 (logit scale 1000): float32 unit rows, float64 loss and gradients
    a = unit(own.standard_normal((16, 8))).astype(np.float32)
    b = unit(a + 0.3 * own.standard_normal((16, 8))).astype(np.float32)
    A, B, n, s = a.astype(np.float64), b.astype(np.float64), 16, 1000.0
    logits = s * A @ B.T
    soft = lambda l: np.exp(log_softmax(l))
    eye = np.eye(n)
    value = (ce_soft(logits, eye) + ce_soft(logits.T, eye)) / 2
    d_logits = 0.5 * ((soft(logits) - eye) / n + ((soft(logits.T) - eye) / n).T)
    out["clip"] = {"a": mat(a), "b": mat(b), "scale": s, "value": value,
                   "gradA": mat(s * d_logits @ B), "gradB": mat(s * d_logits.T @ A)}
    # 1e6-scale rows: normalisation must not lose them
    x = (own.standard_normal((30, 10)) * 1e6).astype(np.float32)
    y = (x + own.standard_normal((30, 10)) * 5e5).astype(np.float32)
    ref = measure_reference(x, y); del ref["ranks"]
    out["scaled"] = {"a": mat(x), "b": mat(y), "measure": ref}
    # near-ties: B rows that differ from their neighbour by 1e-4 of a unit vector
    base = unit(own.standard_normal((20, 6)))
    near = base.copy(); near[1::2] = unit(near[0::2] + 1e-4 * own.standard_normal((10, 6)))
    x, y = base.astype(np.float32), near.astype(np.float32)
    ref = measure_reference(x, y); del ref["ranks"]
    out["near"] = {"a": mat(x), "b": mat(y), "measure": ref}
    # d = 4,096 (values on a 1/64 grid: exact in float32, short in JSON)
    x = (np.round(own.standard_normal((12, 4096)) * 64) / 64).astype(np.float32)
    y = (np.round((x + own.standard_normal((12, 4096))) * 64) / 64).astype(np.float32)
    ref = measure_reference(x, y); del ref["ranks"]
    out["wide"] = {"a": mat(x), "b": mat(y), "measure": ref}
    # N = 2
    x, y = own.standard_normal((2, 5)).astype(np.float32), own.standard_normal((2, 5)).astype(np.float32)
    ref = measure_reference(x, y); del ref["ranks"]
    out["two"] = {"a": mat(x), "b": mat(y), "measure": ref}
    return out


def zero_shot():
    d, k = 10, 4
    centers = f32(k, d)
    labels = rng.integers(0, k, 50)
    labels[labels == 3] = 2  # class 3 has no samples: its per-class accuracy is null
    images = (centers[labels] + f32(50, d, scale=1.2)).astype(np.float32)
    templates = [(centers[c] + f32(3, d, scale=0.5)).astype(np.float32) for c in range(k)]
    classes = unit(np.stack([unit(t).mean(0) for t in templates]))
    pred = (unit(images) @ classes.T).argmax(1)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (labels, pred), 1)
    per_class = [None if confusion[c].sum() == 0 else float(confusion[c, c] / confusion[c].sum()) for c in range(k)]
    return {"images": mat(images), "templates": [mat(t) for t in templates], "labels": labels.tolist(),
            "accuracy": float((pred == labels).mean()), "predictions": pred.tolist(),
            "confusion": confusion.tolist(), "perClass": per_class}


def psd_function(c, f):
    """f(C) of a covariance, its eigenvalues <= max * d * 2**-52 (rounding noise) taken as 0 (src/core/linalg.ts)."""
    w, v = np.linalg.eigh(c)
    w = np.where(w > w.max() * len(w) * 2.0 ** -52, w, 0)
    return (v * f(w)) @ v.T


def covariance_map(xa, xb, regularise):
    """T = C_B^-1/2 C_A^1/2, each covariance's eigenvalues w mapped by regularise(w, trace) (0: pseudo-inverse)."""
    ma, mb = xa.mean(0), xb.mean(0)
    ca, cb = np.cov(xa, rowvar=False, bias=True), np.cov(xb, rowvar=False, bias=True)
    root = psd_function(ca, lambda w: np.sqrt(regularise(w, np.trace(ca))))
    inv_root = psd_function(cb, lambda w: (lambda r: np.where(r > 0, 1 / np.sqrt(np.where(r > 0, r, 1)), 0))(
        regularise(w, np.trace(cb))))
    return ma, mb, inv_root @ root


def procrustes_map(m):
    """Orthogonal W maximising tr(W^T M), M = B^T A: U_r V_r^T on the singular values > s_1 * d * 2**-52, and on
    the rest the completion nearest the identity, R P^T from V_rest^T U_rest = P S R^T (src/core/linalg.ts)."""
    u, s, vt = np.linalg.svd(m)
    v = vt.T
    k = s > s[0] * len(s) * 2.0 ** -52
    w = u[:, k] @ v[:, k].T
    if not k.all():
        p, _, rt = np.linalg.svd(v[:, ~k].T @ u[:, ~k])
        w += u[:, ~k] @ rt.T @ p.T @ v[:, ~k].T
    return w


def fit_align(kind, a, b, p):
    """numpy twins of src/align: returns apply(m, side) for unit-normalised fits."""
    xa, xb = unit(a), unit(b)
    ma, mb = xa.mean(0), xb.mean(0)
    same = lambda m: unit(m)
    if kind == "center" or kind == "c3":
        return lambda m, side: unit(unit(m) - (ma if side == "a" else mb))
    if kind == "shift":
        d = ma - mb
        return lambda m, side: unit(unit(m) + (-0.5 if side == "a" else 0.5) * p["lambda"] * d)
    if kind == "capdec-noise":
        return lambda m, side: same(m)
    if kind in ("realign", "realign-aniso"):
        if kind == "realign":
            ta = ((xa - ma) ** 2).sum(1).mean(); tb = ((xb - mb) ** 2).sum(1).mean()
            t = np.eye(a.shape[1]) * np.sqrt(ta / (tb + 1e-10))
        else:
            al = p["shrinkage"]; dd = a.shape[1]
            _, _, t = covariance_map(xa, xb, lambda w, tr: (1 - al) * w + al * tr / dd)
        move = lambda y: unit((y - mb) @ t + ma)
        mhat = move(xb).mean(0)
        return lambda m, side: same(m) if side == "a" else unit(move(unit(m)) - mhat + ma)
    if kind == "coral":
        ma_, mb_, t = covariance_map(xa, xb, lambda w, tr: w + p["eps"])
        return lambda m, side: same(m) if side == "a" else unit((unit(m) - mb_) @ t + ma_)
    if kind == "decap":
        mem = xa
        def apply(m, side):
            if side == "a":
                return same(m)
            z = unit(m) @ mem.T / p["tau"]
            w = np.exp(z - z.max(1, keepdims=True))
            return unit(w @ mem)
        return apply
    if kind == "procrustes":
        w = procrustes_map(xb.T @ xa)
        return lambda m, side: same(m) if side == "a" else unit(unit(m) @ w)
    if kind == "ridge":
        w = np.linalg.solve(xb.T @ xb + p["lambda"] * np.eye(a.shape[1]), xb.T @ xa)
        return lambda m, side: same(m) if side == "a" else unit(unit(m) @ w)
    raise ValueError(kind)


# defaults of src/align, with the noise of c3 / capdec-noise off so numpy can match exactly
ALIGN_PARAMS = {"center": {}, "shift": {"lambda": 1.0}, "realign": {}, "realign-aniso": {"shrinkage": 0.5},
                "c3": {"sigma2": 0.0}, "capdec-noise": {"sigma2": 0.0}, "decap": {"tau": 0.01},
                "procrustes": {}, "ridge": {"lambda": 1.0}, "coral": {"eps": 1e-4}}


def align():
    a, b = f32(40, 6), f32(40, 6)
    a += 0.8
    b = (b + 0.5 * a - 0.3).astype(np.float32)
    na, nb = f32(15, 6) + 0.8, f32(15, 6) - 0.2
    na, nb = na.astype(np.float32), nb.astype(np.float32)
    out = {"a": mat(a), "b": mat(b), "newA": mat(na), "newB": mat(nb), "methods": {}}
    for kind, p in ALIGN_PARAMS.items():
        f = fit_align(kind, a, b, p)
        out["methods"][kind] = {"params": p, "a": mat(f(na, "a")), "b": mat(f(nb, "b"))}
    return out


def heldout(f, fit_rows):
    """Measure references for every transform fitted on rows [0, fit_rows), measured on the rest."""
    a, b = f[0].astype(np.float64), f[1].astype(np.float64)
    xf, yf, xe, ye = a[:fit_rows], b[:fit_rows], a[fit_rows:], b[fit_rows:]
    res = {"baseline": measure_reference(xe, ye)}
    for kind, p in ALIGN_PARAMS.items():
        g = fit_align(kind, xf, yf, p)
        res[kind] = measure_reference(g(xe, "a"), g(ye, "b"))
    for r in res.values():
        del r["ranks"]
    return res


def align_fidelity():
    """Fits from fewer pairs than dimensions (issue 22): procrustes, coral down to eps = 1e-12 and realign-aniso
    without shrinkage, where the data leave the map outside their span to gapkit's stated rules."""
    r = np.random.default_rng(2222)
    n, d = 5, 8
    a = (r.standard_normal((n, d)) + 0.6).astype(np.float32)
    b = (0.5 * r.standard_normal((n, d)) + 0.4 * a - 0.2).astype(np.float32)
    xa, xb = unit(a.astype(np.float64)), unit(b.astype(np.float64))
    coral = [{"eps": eps, "t": covariance_map(xa, xb, lambda w, tr: w + eps)[2].ravel().tolist()}
             for eps in (1e-4, 1e-8, 1e-12)]
    return {"a": mat(a), "b": mat(b), "procrustes": procrustes_map(xb.T @ xa).ravel().tolist(), "coral": coral,
            "realignAniso": covariance_map(xa, xb, lambda w, tr: w)[2].ravel().tolist()}


def log_softmax(l):
    m = l.max(1, keepdims=True)
    return l - (np.log(np.exp(l - m).sum(1, keepdims=True)) + m)


def ce_soft(l, t):
    return float(-(log_softmax(l) * t).sum(1).mean())


def losses():
    """Loss values from the papers' formulas (open_clip ClipLoss/SigLipLoss, SupContrast, ALBEF), float64."""
    n, d = 8, 5
    a, b = unit(f32(n, d)).astype(np.float32), unit(f32(n, d)).astype(np.float32)
    A, B = a.astype(np.float64), b.astype(np.float64)
    eye = np.eye(n)
    out = {"a": mat(a), "b": mat(b)}
    s = 1 / 0.07
    logits = s * A @ B.T
    out["clip"] = {"both": (ce_soft(logits, eye) + ce_soft(logits.T, eye)) / 2,
                   "aToB": ce_soft(logits, eye), "bToA": ce_soft(logits.T, eye)}
    raw = rng.random((n, n)); targets = raw / raw.sum(1, keepdims=True)
    out["clipSoft"] = {"targets": targets.ravel().tolist(),
                       "value": (ce_soft(logits, targets) + ce_soft(logits.T, targets.T)) / 2}
    sl = 10.0 * A @ B.T - 10.0
    z = 2 * eye - 1
    out["siglip"] = float(-np.log(1 / (1 + np.exp(-z * sl))).sum() / n)
    # SupCon: two views of 4 samples, labels by sample; plus a 3-class labelling
    views = unit(f32(8, d)).astype(np.float32)
    V = views.astype(np.float64)
    def supcon(labels, tau, form):
        labels = np.asarray(labels)
        lg = V @ V.T / tau
        n_ = len(V)
        mask_self = ~np.eye(n_, dtype=bool)
        pos = (labels[:, None] == labels[None, :]) & mask_self
        lg_masked = np.where(mask_self, lg, -np.inf)
        log_prob = lg - np.log(np.exp(lg_masked).sum(1, keepdims=True))
        keep = pos.sum(1) > 0
        if form == "out":
            per = -(np.where(pos, log_prob, 0).sum(1) / np.maximum(pos.sum(1), 1))
        else:
            per = -np.log(np.where(pos, np.exp(log_prob), 0).sum(1) / np.maximum(pos.sum(1), 1))
        return float(per[keep].mean())
    out["supcon"] = {"z": mat(views), "labels": [0, 1, 2, 3, 0, 1, 2, 3], "labels3": [0, 0, 1, 1, 2, 2, 0, 1],
                     "out": supcon([0, 1, 2, 3, 0, 1, 2, 3], 0.1, "out"), "in": supcon([0, 1, 2, 3, 0, 1, 2, 3], 0.1, "in"),
                     "out3": supcon([0, 0, 1, 1, 2, 2, 0, 1], 0.1, "out"), "in3": supcon([0, 0, 1, 1, 2, 2, 0, 1], 0.1, "in")}
    # NCE with k = 3 noise samples
    pos_s, noise_s = rng.standard_normal(6), rng.standard_normal((6, 3))
    lq_p, lq_n = np.log(rng.uniform(0.05, 0.5, 6)), np.log(rng.uniform(0.05, 0.5, (6, 3)))
    lsig = lambda x: -np.logaddexp(0, -x)
    nce = -(lsig(pos_s - np.log(3) - lq_p) + lsig(-(noise_s - np.log(3) - lq_n)).sum(1)).mean()
    out["nce"] = {"positive": pos_s.tolist(), "noise": noise_s.ravel().tolist(), "logQPositive": lq_p.tolist(),
                  "logQNoise": lq_n.ravel().tolist(), "value": float(nce)}
    # contrastive pairs (Hadsell): half similar
    lab = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    dist = np.linalg.norm(A - B, axis=1)
    out["pair"] = {"labels": lab.tolist(), "margin": 1.2,
                   "value": float((lab * dist ** 2 + (1 - lab) * np.maximum(0, 1.2 - dist) ** 2).mean())}
    # triplets on the views with 3 classes, margin 0.3
    lab3 = np.array([0, 0, 1, 1, 2, 2, 0, 1]); m_ = 0.3
    D = np.linalg.norm(V[:, None] - V[None], axis=2)
    trip = {}
    all_, hard, semi = [], [], []
    for i in range(8):
        P = [j for j in range(8) if j != i and lab3[j] == lab3[i]]; Nn = [j for j in range(8) if lab3[j] != lab3[i]]
        if not P or not Nn:
            continue
        hard.append(max(0, D[i, max(P, key=lambda j: D[i, j])] - D[i, min(Nn, key=lambda j: D[i, j])] + m_))
        for p_ in P:
            all_ += [max(0, D[i, p_] - D[i, q] + m_) for q in Nn]
            cand = [q for q in Nn if D[i, p_] < D[i, q] < D[i, p_] + m_]
            if cand:
                semi.append(max(0, D[i, p_] - D[i, min(cand, key=lambda q: D[i, q])] + m_))
    out["triplet"] = {"labels": lab3.tolist(), "margin": m_, "all": float(np.mean(all_)), "batch-hard": float(np.mean(hard)),
                      "semi-hard": float(np.mean(semi)) if semi else 0.0}
    # ALBEF ITC with a queue of 3 rows per modality, momentum features = noisy online ones
    am, bm = unit(A + 0.1 * f32(n, d)), unit(B + 0.1 * f32(n, d))
    am, bm = am.astype(np.float32).astype(np.float64), bm.astype(np.float32).astype(np.float64)
    qa, qb = unit(f32(3, d)).astype(np.float32).astype(np.float64), unit(f32(3, d)).astype(np.float32).astype(np.float64)
    temp, alpha = 0.07, 0.4
    ia, ta = np.vstack([am, qa]), np.vstack([bm, qb])
    tgt = lambda sm: alpha * np.exp(log_softmax(sm)) + (1 - alpha) * np.eye(n, sm.shape[1])
    i2t = ce_soft(A @ ta.T / temp, tgt(am @ ta.T / temp)); t2i = ce_soft(B @ ia.T / temp, tgt(bm @ ia.T / temp))
    out["itc"] = {"imageMomentum": mat(am), "textMomentum": mat(bm), "imageQueue": mat(qa), "textQueue": mat(qb),
                  "value": (i2t + t2i) / 2}
    itm_logits = f32(6, 2); itm_labels = np.array([1, 0, 0, 1, 0, 0])
    out["itm"] = {"logits": mat(itm_logits), "labels": itm_labels.tolist(),
                  "value": float(-log_softmax(itm_logits.astype(np.float64))[np.arange(6), itm_labels].mean())}
    w = f32(d, d)
    out["scores"] = {"dot": (A @ B.T).ravel().tolist(),
                     "cosine": (unit(A) @ unit(B).T).ravel().tolist(),
                     "negativeL1": (-np.abs(A[:, None] - B[None]).sum(2)).ravel().tolist(),
                     "negativeSquaredL2": (-((A[:, None] - B[None]) ** 2).sum(2)).ravel().tolist(),
                     "w": w.ravel().astype(np.float64).tolist(),
                     "bilinear": (A @ w.astype(np.float64) @ B.T).ravel().tolist()}
    return out


def experiments():
    """Mind the Gap's sphere and mismatch simulations in float64 (the shared tools' sims.py, all points)."""
    def clip_labelled(a, b, scale, lab):
        s_ = a @ b[lab].T * scale
        return (ce_soft(s_, np.eye(len(a))) + ce_soft(s_.T, np.eye(len(a)))) / 2
    def xyz(u, v):
        u, v = np.radians(u), np.radians(v)
        return np.array([np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v)])
    az = [-20, 0, 20, 40, 60, 80]
    img = np.stack([xyz(u, 90) for u in az])
    sphere = {str(sc): [clip_labelled(img, np.stack([xyz(u, 90 + t) for u in az]), sc, np.arange(6))
                        for t in range(-90, 91)] for sc in (1, 5, 35, 50, 100)}
    def pts(z):
        a = (1 - z * z) ** 0.5; b = ((1 - z * z) / 2) ** 0.5; th = 0.03 * np.pi + 1.5 * np.pi
        p_ = lambda s_: np.array([(a, 0, s_), (-a, 0, s_), (0, a, s_), (0, -a, s_), (b, b, s_), (-b, b, s_),
                                  (b, -b, s_), (-b, -b, s_), (np.cos(th) * a, np.sin(th) * a, s_)])
        return p_(z), p_(-z)
    zs = np.linspace(-1, 1, 100)
    mism = []
    for swap in (False, True):
        lab = np.arange(9)
        if swap:
            lab[3], lab[8] = lab[8], lab[3]
        for sc in (1, 5, 10, 50, 100, 500, 1000):
            losses_ = [clip_labelled(*pts(z), sc, lab) for z in zs]
            mism.append({"swapped": swap, "scale": sc, "loss": losses_, "argminZ": float(zs[int(np.argmin(losses_))])})
    return {"sphere": sphere, "mismatch": mism}


def pca():
    """Top-2 principal coordinates by SVD of the centred rows, each axis signed like gapkit's (pivot > 0)."""
    x = (f32(40, 6) + np.array([3, 0, 0, 1, 0, 0], dtype=np.float32) * f32(40, 1)).astype(np.float32)
    xc = x.astype(np.float64) - x.astype(np.float64).mean(0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    v = vt[:2].T * pivot_signs(vt[:2].T)
    return {"x": mat(x), "coordinates": (xc @ v).ravel().tolist()}


SHARED = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mind-the-gap"


def score_terms(q, g, bank, k=10, tau=0.01):
    """Every scoring method's scores z of unit queries q against unit gallery g (float64)."""
    s = q @ g.T
    lse = lambda x, axis: x.max(axis) + np.log(np.exp(x - x.max(axis, keepdims=True)).sum(axis))
    rq, rg = np.sort(s, 1)[:, -k:].mean(1), np.sort(s, 0)[-k:, :].mean(0)
    return {
        "raw": s,
        "zscore": (s - s.mean(1, keepdims=True)) / s.std(1, keepdims=True),
        "csls": 2 * s - rq[:, None] - rg[None, :],
        "dual-softmax": 2 * s / tau - lse(s / tau, 1)[:, None] - lse(s / tau, 0)[None, :],
        "qb-norm": s / tau - lse((bank @ g.T) / tau, 0)[None, :],
    }


def qb_norm_fit(q, g, tau=0.01):
    """qb-norm scores of paired fit rows, pair (i, j) against the bank q less rows i and j (as a new pair's)."""
    n = len(q)
    x = q @ g.T / tau
    out = np.empty_like(x)
    for i in range(n):
        bank = np.where((np.arange(n)[:, None] == i) | np.eye(n, dtype=bool), -np.inf, x)  # [bank row, column]
        top = bank.max(0)
        out[i] = x[i] - (top + np.log(np.exp(bank - top).sum(0)))
    return out


def isotonic(z, y):
    """Pool-adjacent-violators, equal scores pooled first; returns block ends x and values v (as gapkit)."""
    blocks = []
    for zi, yi in sorted(zip(z, y)):
        if blocks and blocks[-1][1] == zi:
            blocks[-1][2] += yi
            blocks[-1][3] += 1
        else:
            blocks.append([zi, zi, yi, 1.0])
        while len(blocks) > 1 and blocks[-2][2] / blocks[-2][3] >= blocks[-1][2] / blocks[-1][3]:
            lo, _, s2, w2 = blocks[-2]
            _, hi, s1, w1 = blocks.pop()
            blocks[-1] = [lo, hi, s1 + s2, w1 + w2]
    x = [v for b in blocks for v in (b[0], b[1])]
    v = [b[2] / b[3] for b in blocks for _ in (0, 1)]
    return np.array(x), np.array(v)


def isotonic_predict(x, v, z):
    return np.interp(z, x, v)  # flat inside blocks (equal values), linear between, clamped outside


def platt(z, y):
    """Weighted logistic regression p = sigmoid(a z + b) by Newton's method."""
    a, b = 0.0, np.log(1 / (np.sqrt(len(z)) - 1))
    for _ in range(100):
        p = 1 / (1 + np.exp(-(a * z + b)))
        r, h = p - y, p * (1 - p)
        grad = np.array([(r * z).sum(), r.sum()])
        hess = np.array([[(h * z * z).sum(), (h * z).sum()], [(h * z).sum(), h.sum()]])
        step = np.linalg.solve(hess, grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-13:
            break
    return a, b


def score_metrics(z, calibrated):
    """Held-out metrics of scores z (true pairs on the diagonal), as `gapkit score eval` reports them."""
    n = len(z)
    true, off = np.diag(z), z[~np.eye(n, dtype=bool)]
    allv = np.concatenate([true, off])
    uniq, inv, cnt = np.unique(allv, return_inverse=True, return_counts=True)
    order_ranks = np.cumsum(cnt) - (cnt - 1) / 2  # average 1-based rank of each distinct value
    r = order_ranks[inv]
    auc = (r[:n].sum() - n * (n + 1) / 2) / (n * len(off))
    st = np.sort(true)
    prec = {}
    for rec in (0.5, 0.9):
        t = st[n - int(np.ceil(rec * n))]
        pos, neg = (true >= t).sum(), (off >= t).sum()
        prec[str(rec)] = float(pos / (pos + neg))
    top = np.argsort(-z, axis=1, kind="stable")[:, :10]
    occ = np.bincount(top.ravel(), minlength=n).astype(np.float64)
    d = occ - occ.mean()
    hub = float((d ** 3).mean() / (d ** 2).mean() ** 1.5)
    p, y = calibrated.ravel(), np.eye(n).ravel()
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum((bins == k).sum() / len(p) * abs(p[bins == k].mean() - y[bins == k].mean()) for k in range(10) if (bins == k).any())
    return {"aToB": recall(ranks(z)), "auc": float(auc), "precisionAtRecall": prec, "hubness": hub,
            "ece": float(ece), "brier": float(((p - y) ** 2).mean())}


def score():
    """Gallery-aware scoring on a small pair with a gap: fit on the first half, evaluate on the second."""
    n, d, fit = 60, 10, 30
    a, b = f32(n, d), f32(n, d)
    b += 0.9 * a
    a += 0.6
    ua, ub = unit(a), unit(b)
    ev = {}
    platt_params = {}
    zs = {}
    fit_terms = {**score_terms(ua[:fit], ub[:fit], ua[:fit]), "qb-norm": qb_norm_fit(ua[:fit], ub[:fit])}
    eval_terms = score_terms(ua[fit:], ub[fit:], ua[:fit])
    back_terms = score_terms(ub[fit:], ua[fit:], ub[:fit])
    for method, z in eval_terms.items():
        zf = fit_terms[method]
        x, v = isotonic(zf.ravel(), np.eye(fit).ravel())
        m = score_metrics(z, isotonic_predict(x, v, z))
        m["bToA"] = recall(ranks(back_terms[method]))
        ev[method] = m
        platt_params[method] = platt(zf.ravel(), np.eye(fit).ravel())
        zs[method] = mat(z)
    return {"a": mat(a), "b": mat(b), "fitRows": fit, "evalScores": zs, "metrics": ev,
            "platt": {m: {"a": float(p[0]), "b": float(p[1])} for m, p in platt_params.items()}}


def clip_symmetric(x, y, tau):
    s = x @ y.T / tau
    return float((ce_soft(s, np.eye(len(x))) + ce_soft(s.T, np.eye(len(x)))) / 2)


def authors_landscape(a, b, deltas, temperatures):
    """Mind the Gap's loss landscape as its code shifts: both modalities move by ∓½δ along the unit gap
    direction Δ/‖Δ‖, then are re-normalised; the symmetric CLIP loss at each δ and τ, and the argmin δ per τ."""
    x, y = unit(a), unit(b)
    gap = x.mean(0) - y.mean(0)
    direction = gap / np.linalg.norm(gap)
    loss = [[clip_symmetric(unit(x - 0.5 * d * direction), unit(y + 0.5 * d * direction), t) for t in temperatures]
             for d in deltas]
    argmin = [float(deltas[int(np.argmin([row[j] for row in loss]))]) for j in range(len(temperatures))]
    return {"deltas": [float(d) for d in deltas], "temperatures": temperatures, "loss": loss,
            "argminDelta": argmin, "gapNorm": float(np.linalg.norm(gap))}


def landscape():
    """The landscape and the shift sweep in both units on a small pair with a gap (its own seed: the
    other fixtures' draws stay as they were)."""
    local = np.random.default_rng(7)
    a = (local.standard_normal((40, 8)) + 1.5).astype(np.float32)
    b = (local.standard_normal((40, 8)) * 0.8 + a * 0.5 - 1.0).astype(np.float32)
    x, y = unit(a), unit(b)
    gap = x.mean(0) - y.mean(0)
    sweep = []
    for value, is_unit in [(0.0, False), (0.5, False), (1.0, False), (-1.0, True), (0.5, True)]:
        lam = value / np.linalg.norm(gap) if is_unit else value
        ref = measure_reference(unit(x - 0.5 * lam * gap), unit(y + 0.5 * lam * gap))
        sweep.append({"value": value, "unit": is_unit, "lambda": float(lam), "gap": ref["gap"]["l2m"],
                      "pairedCos": ref["pairedCos"], "retrieval": ref["retrieval"]})
    return {"a": mat(a), "b": mat(b), "sweep": sweep,
            "landscape": authors_landscape(a, b, np.arange(-2, 2.001, 0.25), [0.02, 0.1, 1.0])}


def shared_measures():
    """References on the shared Mind the Gap features (absent in a user's clone: skipped)."""
    out = {}
    for name in ["features_clip", "features_clip_random"]:
        path = SHARED / f"{name}.npy"
        if path.exists():
            f = np.load(path)
            ref = measure_reference(f[0], f[1])
            del ref["ranks"]
            out[name] = ref
            if name == "features_clip":
                out["heldout"] = heldout(f, f.shape[1] // 2)
                out["landscape"] = authors_landscape(f[0], f[1], np.arange(-5, 5, 0.25), [0.01, 0.02, 0.1, 1.0])
    return out


def eigen():
    """Float64 eigendecompositions and their transforms (src/core/eigen.ts): a covariance of fewer rows than
    dimensions (a repeated zero eigenvalue), a spectrum with repeated values, and a positive definite solve."""
    r = np.random.default_rng(3131)
    x = r.standard_normal((9, 24)).astype(np.float32).astype(np.float64)
    cov = np.cov(x, rowvar=False)
    w = np.linalg.eigh(cov)[0][::-1]
    q = np.linalg.qr(r.standard_normal((10, 10)))[0]
    repeated = (q * np.array([3, 3, 3, 1, 1, 1, 1, 0.25, 0.25, 0.5])) @ q.T
    g = r.standard_normal((30, 16)).astype(np.float32).astype(np.float64)
    spd, rhs = g.T @ g + 0.1 * np.eye(16), r.standard_normal((16, 5)).astype(np.float32).astype(np.float64)
    return {
        "rankDeficient": {"x": mat(x), "s": mat(cov), "values": w.tolist(),
                          "sqrt": mat(psd_function(cov, np.sqrt)),
                          "inverseSqrt": mat(psd_function(cov, lambda w: np.where(w > 0, 1 / np.sqrt(np.where(w > 0, w, 1)), 0)))},
        "repeated": {"s": mat(repeated), "values": np.linalg.eigh(repeated)[0][::-1].tolist(),
                     "cube": mat(psd_function(repeated, lambda w: w ** 3))},
        "solve": {"s": mat(spd), "r": mat(rhs), "x": mat(np.linalg.solve(spd, rhs))},
    }


def gaussian(x):
    """Mean and biased (1/n) covariance of the rows, float64."""
    mu = x.mean(0)
    c = x - mu
    return mu, c.T @ c / len(x)


def w2(a, b):
    """The squared 2-Wasserstein distance of two Gaussians (mean, covariance): bias + Bures shape."""
    (ma, ca), (mb, cb) = a, b
    root = psd_function(ca, lambda w: np.sqrt(np.maximum(w, 0)))
    cross = np.sqrt(np.maximum(np.linalg.eigvalsh(root @ cb @ root), 0)).sum()
    bias = float(((ma - mb) ** 2).sum())
    shape = max(0.0, float(np.trace(ca) + np.trace(cb) - 2 * cross))
    return {"bias": bias, "shape": shape, "total": bias + shape}


def mix32(z):
    """gapkit's splitmix32 output function (core/rng.ts) on 32-bit unsigned integers."""
    t = (z ^ ((z & 0xFFFFFFFF) >> 16)) & 0xFFFFFFFF
    t = (t * 0x21F0AAAD) & 0xFFFFFFFF
    t ^= t >> 15
    t = (t * 0x735A2D97) & 0xFFFFFFFF
    return (t ^ (t >> 15)) & 0xFFFFFFFF


def hash_uniform(seed, index):
    """gapkit's hashUniform(seed, index): a uniform number in [0, 1) that depends only on both."""
    high = mix32((((seed & 0xFFFFFFFF) ^ (seed >> 32)) + 0x9E3779B9) & 0xFFFFFFFF)
    h1 = mix32((index & 0xFFFFFFFF) ^ mix32(high ^ (index >> 32)))
    h2 = mix32(h1 ^ 0x85EBCA6B)
    return (h1 * 2 ** 21 + (h2 >> 11)) / 2 ** 53


def shape_reference(a, b, axes):
    """The W2 split with shares, the joint frame's top axes (pooled mixture covariance, pivot signs) and the
    anisotropy profile of rows a, b (float64)."""
    ga, gb = gaussian(a), gaussian(b)
    split = w2(ga, gb)
    total = split["total"]
    split.update(biasShare=split["bias"] / total, shapeShare=split["shape"] / total)
    delta = ga[0] - gb[0]
    pooled = 0.5 * (ga[1] + gb[1]) + 0.25 * np.outer(delta, delta)
    w, v = np.linalg.eigh(pooled)
    u = v[:, ::-1][:, :axes]
    u = u * pivot_signs(u)
    diff = ga[1] - gb[1]
    profile = []
    for k in range(u.shape[1]):
        uk = u[:, : k + 1]
        profile.append({"bias": float(u[:, k] @ delta), "varianceA": float(u[:, k] @ ga[1] @ u[:, k]),
                        "varianceB": float(u[:, k] @ gb[1] @ u[:, k]),
                        "biasShare": float(((uk.T @ delta) ** 2).sum() / (delta ** 2).sum()),
                        "residualShare": float(((uk.T @ diff @ uk) ** 2).sum() / (diff ** 2).sum())})
    return {"w2": split, "axes": u.T.tolist(), "profile": profile}


def bias_stability(a, b, halves=200, seed=0):
    """gapkit's biasStability: random halves by hashUniform keys, the cosine of the halves' mean(a - b)."""
    n = len(a)
    diff = a - b
    size = n // 2
    cosines = []
    for draw in range(halves):
        keys = np.array([hash_uniform(seed, draw * n + i) for i in range(n)])
        first = keys <= np.sort(keys)[size - 1]
        x, y = diff[first].mean(0), diff[~first].mean(0)
        cosines.append(float(x @ y / np.sqrt((x @ x) * (y @ y))))
    c = np.sort(cosines)
    at = lambda q: float(c[int(np.floor(q * (halves - 1) + 0.5))])
    return {"halves": halves, "seed": seed, "mean": float(np.mean(cosines)), "ci": [at(0.025), at(0.975)]}


def shape():
    """The gap's shape: on samples of Gaussians of known means and covariances (the truth kept too) and on
    features_clip's unit rows (with the bias stability), where the shared data is present."""
    r = np.random.default_rng(3131)
    d, n = 5, 1500
    mu_a, mu_b = np.array([1.0, 0.5, 0, 0, 0]), np.array([0, 0.5, 0.2, 0, 0])
    ca = np.diag([2.0, 1.0, 0.5, 0.3, 0.1])
    q = np.linalg.qr(r.standard_normal((d, d)))[0]
    cb = q @ np.diag([1.5, 0.8, 0.8, 0.2, 0.2]) @ q.T
    a = r.multivariate_normal(mu_a, ca, n).astype(np.float32).astype(np.float64)
    b = r.multivariate_normal(mu_b, cb, n).astype(np.float32).astype(np.float64)
    out = {"gaussians": {"a": mat(a), "b": mat(b), "truth": w2((mu_a, ca), (mu_b, cb)),
                         "reference": shape_reference(a, b, d)}}
    path = SHARED / "features_clip.npy"
    if path.exists():
        f = np.load(path).astype(np.float64)
        ua, ub = [x / np.linalg.norm(x, axis=1, keepdims=True) for x in f]
        out["features_clip"] = {**shape_reference(ua, ub, 10), "stability": bias_stability(ua, ub)}
    else:
        print(f"{SHARED} not found: shape.json without features_clip")
    return out


def transfer():
    """References for the transfer study's measures: the Gaussian W2 split (bias + Bures), the class-matched
    discrepancy (Hungarian by brute force over the injective matchings), the ridge linear probe (RidgeClassifier,
    alpha 1, on standardised features) and the class-aware Sinkhorn OT distance (ORCA's first stage)."""
    from itertools import permutations
    r = np.random.default_rng(2828)

    f = lambda *s: r.standard_normal(s).astype(np.float32).astype(np.float64)
    xa, xb = [(x).astype(np.float32).astype(np.float64) for x in (f(40, 6) @ f(6, 6), f(30, 6) * 0.5 + 1.0)]
    pair = {"a": mat(xa), "b": mat(xb), "w2": w2(gaussian(xa), gaussian(xb))}
    # three target classes against four source classes: the source's classes 2, 3, 0 near the target's 0, 1, 2
    tl, sl = np.repeat(np.arange(3), 8), np.repeat(np.arange(4), 9)
    centres = 2 * f(3, 5)
    t = (f(24, 5) + centres[tl]).astype(np.float32).astype(np.float64)
    s = (f(36, 5) * 0.8 + np.stack([centres[2], 2 * f(5), centres[0], centres[1]])[sl]).astype(np.float32).astype(np.float64)
    costs = np.array([[w2(gaussian(t[tl == i]), gaussian(s[sl == j]))["total"] for j in range(4)] for i in range(3)])
    best = min(permutations(range(4), 3), key=lambda m: sum(costs[i, m[i]] for i in range(3)))
    discrepancy = {"target": mat(t), "targetLabels": tl.tolist(), "source": mat(s), "sourceLabels": sl.tolist(),
                   "costs": costs.tolist(), "matching": list(best), "value": float(np.mean([costs[i, best[i]] for i in range(3)]))}
    # overlapping classes: the probe errs on some test rows
    pl, ql = r.integers(0, 4, 120), r.integers(0, 4, 80)
    centres = f(4, 7)
    ptrain = (centres[pl] + f(120, 7) * 1.5).astype(np.float32).astype(np.float64)
    ptest = (centres[ql] + f(80, 7) * 1.5).astype(np.float32).astype(np.float64)
    ptrain[:, 6] = 0.25  # a constant feature
    ptest[:, 6] = 0.25
    mu, sd = ptrain.mean(0), ptrain.std(0)
    sd[sd == 0] = 1
    z = (ptrain - mu) / sd
    y = np.where(pl[:, None] == np.arange(4), 1.0, -1.0)
    intercept = y.mean(0)
    w = np.linalg.solve(z.T @ z + np.eye(7), z.T @ (y - intercept))
    predictions = (((ptest - mu) / sd) @ w + intercept).argmax(1)
    probe = {"train": mat(ptrain), "trainLabels": pl.tolist(), "test": mat(ptest), "testLabels": ql.tolist(),
             "predictions": predictions.tolist(), "error": float((predictions != ql).mean())}
    # ORCA's OT distance: class moments (biased variances, sds floored), Gaussian label distances, entropic plan
    onehot = lambda l, c: (l[:, None] == np.arange(c)).astype(np.float64)
    ot_t, ot_s = f(7, 3), f(9, 3) + 0.5
    ot_tl, ot_sl = np.array([0, 1, 0, 1, 1, 0, 2]), np.array([0, 1, 2, 3, 0, 1, 2, 3, 0])
    yt, ys = onehot(ot_tl, 4), onehot(ot_sl, 4)  # target class 3 absent: its moments are unused

    def moments(x, y):
        counts = np.maximum(y.sum(0), 1)[:, None]
        means = y.T @ x / counts
        var = y.T @ (x * x) / counts - means ** 2
        return means, np.sqrt(np.maximum(var, 0) + 1e-8)

    sq = lambda a, b: ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    (mt, st), (ms, ss) = moments(ot_t, yt), moments(ot_s, ys)
    cost = sq(ot_t, ot_s) + yt @ (sq(mt, ms) + sq(st, ss)) @ ys.T
    eps, iterations = 0.1, 50
    log_k = -cost / (eps * cost.mean())
    lse = lambda x, axis: np.log(np.exp(x - x.max(axis, keepdims=True)).sum(axis, keepdims=True)) + x.max(axis, keepdims=True)
    fu, gv = np.zeros((7, 1)), np.zeros((1, 9))
    for _ in range(iterations):
        fu = -np.log(7) - lse(log_k + gv, 1)
        gv = -np.log(9) - lse(log_k + fu, 0)
    plan = np.exp(log_k + fu + gv)
    ot = {"target": mat(ot_t), "targetLabels": ot_tl.tolist(), "source": mat(ot_s), "sourceLabels": ot_sl.tolist(),
          "classes": 4, "epsilon": eps, "iterations": iterations, "value": float((plan * cost).sum()),
          "plan": mat(plan)}
    return {"gaussianW2": pair, "discrepancy": discrepancy, "probe": probe, "otdd": ot}


def captions():
    """Caption metrics, written out as their papers define them: corpus BLEU-4 (Papineni 2002; NLTK's corpus_bleu
    without smoothing: clipped n-gram counts summed over the corpus, brevity penalty on the closest reference
    lengths, the shorter on ties) and SQuAD's token F1 (best reference)."""
    from collections import Counter
    from math import exp, log
    r = np.random.default_rng(2929)
    words = ["a", "red", "heart", "smiling", "face", "with", "eyes", "cat", "flag", "of"]
    pick = lambda n: [words[k] for k in r.integers(0, len(words), n)]
    refs = [[pick(int(r.integers(2, 7))) for _ in range(int(r.integers(1, 4)))] for _ in range(12)]
    # candidates: noisy copies of a reference, so that every n-gram order has matches
    cands = []
    for rs in refs:
        c = list(rs[0])
        for k in range(len(c)):
            if r.random() < 0.25:
                c[k] = words[int(r.integers(0, len(words)))]
        if r.random() < 0.3:
            c = c + pick(1)
        cands.append(c)

    def bleu(cands, refs):
        matched, total = [0] * 4, [0] * 4
        c_len = r_len = 0
        for c, rs in zip(cands, refs):
            c_len += len(c)
            r_len += min((abs(len(x) - len(c)), len(x)) for x in rs)[1]
            for n in range(1, 5):
                grams = Counter(tuple(c[k:k + n]) for k in range(len(c) - n + 1))
                clip = Counter()
                for x in rs:
                    for g, v in Counter(tuple(x[k:k + n]) for k in range(len(x) - n + 1)).items():
                        clip[g] = max(clip[g], v)
                matched[n - 1] += sum(min(v, clip[g]) for g, v in grams.items())
                total[n - 1] += sum(grams.values())
        if min(matched) == 0:
            return 0.0
        bp = 1.0 if c_len >= r_len else exp(1 - r_len / c_len)
        return bp * exp(sum(log(m / t) for m, t in zip(matched, total)) / 4)

    def f1(c, rs):
        best = 0.0
        for x in rs:
            common = sum((Counter(c) & Counter(x)).values())
            if common:
                p, q = common / len(c), common / len(x)
                best = max(best, 2 * p * q / (p + q))
        return best

    return {"candidates": cands, "references": refs, "bleu4": bleu(cands, refs),
            "bleu4Short": bleu([c[:4] for c in cands], refs), "tokenF1": [f1(c, rs) for c, rs in zip(cands, refs)]}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    files = {"core": core(), "metrics": metrics(), "stats": stats(), "edge": edge(), "zero-shot": zero_shot(), "align": align(), "align-fidelity": align_fidelity(), "losses": losses(), "experiments": experiments(), "pca": pca(), "score": score(), "landscape": landscape()}
    files["grouped"] = grouped(files["metrics"])
    shared = shared_measures()
    if shared:
        files["mind-the-gap"] = shared
    else:
        print(f"{SHARED} not found: kept the existing mind-the-gap.json")
    files["eigen"] = eigen()
    files["transfer"] = transfer()
    files["captions"] = captions()
    files["shape"] = shape()
    for name, content in files.items():
        (OUT / f"{name}.json").write_text(json.dumps(content))
        print(f"wrote {OUT / (name + '.json')}")


if __name__ == "__main__":
    main()
