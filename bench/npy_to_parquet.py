"""Writes a (2, N, d) float32 .npy as Parquet with one FLOAT column per dimension (a_0…, b_0…).

The benchmark machine has numpy but no pyarrow, so this is a minimal Parquet writer: required FLOAT
columns, PLAIN encoding, uncompressed, one data page per column chunk, Thrift compact protocol by hand.
Usage: python3 npy_to_parquet.py IN.npy OUT.parquet [ROWS_PER_GROUP]
"""
import struct
import sys

import numpy as np

I32, I64, BINARY, LIST, STRUCT = 5, 6, 8, 9, 12


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return varint((n << 1) ^ (n >> 63))


class Struct:
    """A Thrift struct in the compact protocol: fields added in increasing id order."""

    def __init__(self):
        self.out, self.last = bytearray(), 0

    def field(self, fid, ftype, payload):
        delta = fid - self.last
        self.out += bytes([(delta << 4) | ftype]) if 0 < delta <= 15 else bytes([ftype]) + zigzag(fid)
        self.out += payload
        self.last = fid
        return self

    def i32(self, fid, v):
        return self.field(fid, I32, zigzag(v))

    def i64(self, fid, v):
        return self.field(fid, I64, zigzag(v))

    def string(self, fid, s):
        b = s.encode()
        return self.field(fid, BINARY, varint(len(b)) + b)

    def struct(self, fid, s):
        return self.field(fid, STRUCT, s.bytes())

    def list(self, fid, etype, items):
        n = len(items)
        head = bytes([(n << 4) | etype]) if n < 15 else bytes([0xF0 | etype]) + varint(n)
        return self.field(fid, LIST, head + b"".join(items))

    def bytes(self):
        return bytes(self.out) + b"\x00"


def main():
    src, dst = sys.argv[1], sys.argv[2]
    group = int(sys.argv[3]) if len(sys.argv) > 3 else 65536
    f = np.load(src, mmap_mode="r")
    _, n, d = f.shape
    names = [f"{m}_{j}" for m in "ab" for j in range(d)]
    row_groups = []
    with open(dst, "wb") as out:
        out.write(b"PAR1")
        for start in range(0, n, group):
            rows = min(group, n - start)
            columns = []
            block = np.concatenate([f[0, start:start + rows], f[1, start:start + rows]], axis=1).T.copy()
            for j, name in enumerate(names):
                values = block[j].astype("<f4").tobytes()
                page = Struct().i32(1, 0).i32(2, len(values)).i32(3, len(values))
                page.struct(5, Struct().i32(1, rows).i32(2, 0).i32(3, 3).i32(4, 3))
                header = page.bytes()
                offset = out.tell()
                out.write(header)
                out.write(values)
                size = len(header) + len(values)
                meta = (Struct().i32(1, 4).list(2, I32, [zigzag(0)]).list(3, BINARY, [varint(len(name)) + name.encode()])
                        .i32(4, 0).i64(5, rows).i64(6, size).i64(7, size).i64(9, offset))
                columns.append(Struct().i64(2, offset).struct(3, meta).bytes())
            row_groups.append(Struct().list(1, STRUCT, columns).i64(2, rows * len(names) * 4).i64(3, rows).bytes())
        schema = [Struct().string(4, "schema").i32(5, len(names)).bytes()]
        schema += [Struct().i32(1, 4).i32(3, 0).string(4, name).bytes() for name in names]
        footer = Struct().i32(1, 1).list(2, STRUCT, schema).i64(3, n).list(4, STRUCT, row_groups).bytes()
        out.write(footer)
        out.write(struct.pack("<I", len(footer)))
        out.write(b"PAR1")


if __name__ == "__main__":
    main()
