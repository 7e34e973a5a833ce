#!/usr/bin/env python3
"""NumPy-written .npy/.npz fixtures for gapkit's reader, and a checker for gapkit's writer.

  python3 scripts/make_npy_fixtures.py              writes tests/fixtures/npy/*.npy, *.npz, manifest.json
  python3 scripts/make_npy_fixtures.py --verify DIR  loads every .npy/.npz in DIR with numpy and prints JSON
                                                     {file: {shape, dtype, descr, values, identical}}, where
                                                     identical says whether the bytes equal np.save's.
Values are flat C-order lists: floats as JSON numbers ("nan", "inf", "-inf" as strings), bools as 0/1,
integers beyond 2**53 as decimal strings."""
import io
import json
import math
import sys
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "npy"
CODES = ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]
SHAPES = {0: (), 1: (5,), 2: (3, 4), 3: (2, 3, 4)}


def sample(code, shape):
    """Deterministic values for `shape` that start with the dtype's edge cases."""
    n = math.prod(shape)
    dt = np.dtype(code)
    if dt.kind == "b":
        return (np.arange(n) % 3 == 1).reshape(shape)
    if dt.kind == "f":
        fi = np.finfo(dt)
        edge = [1 / 3, -0.0, np.inf, -np.inf, np.nan, fi.max, fi.tiny, fi.smallest_subnormal, -1.5, 0.0]
        rest = np.arange(n, dtype=np.float64) * 0.75 - 2.0
    else:
        ii = np.iinfo(dt)
        edge = [ii.max, ii.min, 0, 1, ii.max - 1, ii.min + 1] + ([-1] if ii.min < 0 else [])
        rest = np.arange(n) * 7 % 100
    values = (edge + rest.tolist())[:n]
    return np.array(values, dtype=dt).reshape(shape)


def normalised(dt):
    return f"{dt.kind}{dt.itemsize}"


def jsonable(arr):
    out = []
    for x in arr.ravel(order="C").tolist():
        if isinstance(x, bool):
            out.append(int(x))
        elif isinstance(x, float):
            out.append(x if math.isfinite(x) else "nan" if x != x else "inf" if x > 0 else "-inf")
        elif abs(x) > 2**53:
            out.append(str(x))
        else:
            out.append(x)
    return out


def describe(arr):
    return {"shape": list(arr.shape), "dtype": normalised(arr.dtype), "descr": arr.dtype.str,
            "values": jsonable(arr)}


def write(name, arr, version, manifest):
    with open(OUT / name, "wb") as f:
        npformat.write_array(f, arr, version=(version, 0))
    with open(OUT / name, "rb") as f:
        assert npformat.read_magic(f) == (version, 0)
        # our headers are ASCII, so the 2.0 reader also reads 3.0 ones
        read_header = npformat.read_array_header_1_0 if version == 1 else npformat.read_array_header_2_0
        _, fortran, _ = read_header(f)
    loaded = np.load(OUT / name)
    assert np.array_equal(loaded, arr, equal_nan=arr.dtype.kind == "f") and loaded.dtype == arr.dtype
    manifest[name] = describe(arr) | {"fortran_order": bool(fortran), "version": f"{version}.0"}


def make():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*"):
        old.unlink()
    manifest = {}
    for code in CODES:
        orders = ["|"] if np.dtype(code).itemsize == 1 else ["<", ">"]
        for bo in orders:
            tag = {"|": "na", "<": "le", ">": "be"}[bo]
            dt = np.dtype(bo + code)
            for rank, shape in SHAPES.items():
                arr = sample(code, shape).astype(dt)
                write(f"{code}_{tag}_C_r{rank}_v1.npy", arr, 1, manifest)
                if rank >= 2:
                    write(f"{code}_{tag}_F_r{rank}_v1.npy", np.asfortranarray(arr), 1, manifest)
                if rank == 2 and code in ("f4", "i8", "u2", "b1"):
                    for v in (2, 3):
                        write(f"{code}_{tag}_C_r2_v{v}.npy", arr, v, manifest)
                        write(f"{code}_{tag}_F_r2_v{v}.npy", np.asfortranarray(arr), v, manifest)
    rng = np.random.default_rng(20261123)
    wide = rng.standard_normal((6, 2, 3, 5)).astype("<f8")
    write("f8_le_F_r4_v1.npy", np.asfortranarray(wide), 1, manifest)
    write("f4_be_F_r4_v1.npy", np.asfortranarray(wide.astype(">f4")), 1, manifest)
    for shape in [(0,), (0, 3), (2, 0, 4)]:
        write(f"f4_le_C_empty_{'x'.join(map(str, shape))}_v1.npy", np.zeros(shape, "<f4"), 1, manifest)

    pair = {"a": np.asfortranarray(sample("f4", (3, 4))), "b": sample("i8", (7,)), "c": sample("b1", (2, 3))}
    for name, save in [("stored.npz", np.savez), ("compressed.npz", np.savez_compressed)]:
        save(OUT / name, **pair)
        with zipfile.ZipFile(OUT / name) as z:
            kinds = {i.compress_type for i in z.infolist()}
        assert kinds == ({zipfile.ZIP_DEFLATED} if "compressed" in name else {zipfile.ZIP_STORED})
        manifest[name] = {"arrays": {k: describe(v) for k, v in pair.items()}}

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(manifest)} fixtures, {total} bytes, to {OUT}")
    assert total < 200_000


def saved_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def verify(folder):
    report = {}
    for path in sorted(Path(folder).iterdir()):
        try:
            if path.suffix == ".npy":
                raw = path.read_bytes()
                arr = np.load(io.BytesIO(raw), allow_pickle=False)
                report[path.name] = describe(arr) | {"identical": raw == saved_bytes(arr)}
            elif path.suffix == ".npz":
                arrays = {}
                with zipfile.ZipFile(path) as z, np.load(path, allow_pickle=False) as npz:
                    for key in npz.files:
                        arr = npz[key]
                        arrays[key] = describe(arr) | {"identical": z.read(key + ".npy") == saved_bytes(arr)}
                report[path.name] = {"arrays": arrays}
        except Exception as e:  # report it to the test rather than stop at the first bad file
            report[path.name] = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(report))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--verify":
        verify(sys.argv[2])
    elif len(sys.argv) == 1:
        make()
    else:
        sys.exit(__doc__)
