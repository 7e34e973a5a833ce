import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { intAttribute, message, model, node, tensorInfo } from "../../src/core/onnx.js";

describe("the ONNX writer", () => {
  it("encodes a negative int64 as protobuf does: ten bytes of two's complement", () => {
    expect(Array.from(message([[1, "varint", -1]]))).toEqual([8, ...Array(9).fill(0xff), 1]);
    expect(Array.from(message([[1, "varint", -2]]))).toEqual([8, 0xfe, ...Array(8).fill(0xff), 1]);
    expect(Array.from(message([[1, "varint", 300]]))).toEqual([8, 0xac, 2]);
  });

  it("writes a field of megabytes (weights) as its length and the bytes themselves", () => {
    const payload = Uint8Array.from({ length: 3_000_000 }, (_, i) => i % 251);
    const bytes = message([
      [1, "varint", 300],
      [2, "bytes", payload],
    ]);
    // field 1 varint 300 = 0x08 0xac 0x02; field 2 = 0x12, then 3,000,000 as a varint (0xc0 0x8d 0xb7 0x01)
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x08, 0xac, 0x02, 0x12, 0xc0, 0x8d, 0xb7, 0x01]);
    expect(bytes.length).toBe(8 + payload.length);
    expect(Buffer.compare(bytes.subarray(8), payload)).toBe(0); // (toEqual takes seconds on 3 MB)
  });

  it("writes a model with axis −1 that onnxruntime loads: softmax over the last axis", async () => {
    const bytes = model(
      "softmax_last",
      [node("Softmax", ["x"], "y", [intAttribute("axis", -1)])],
      [tensorInfo("x", "float32", [2, 2])],
      [tensorInfo("y", "float32", [2, 2])],
    );
    const session = await ort.InferenceSession.create(bytes);
    const { y } = await session.run({
      x: new ort.Tensor("float32", Float32Array.of(0, 0, 0, Math.log(3)), [2, 2]),
    });
    expect(Array.from(y.data as Float32Array)).toEqual([0.5, 0.5, 0.25, 0.75]);
    await session.release();
  });
});
