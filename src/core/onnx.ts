/**
 * A minimal writer of ONNX models (onnx.proto3 field numbers): enough protobuf for the small graphs gapkit
 * builds in code (the ort backend's products, the fused CLIP training step), so no model file ships.
 */

/** One protobuf field: number, wire kind and value. */
export type Field =
  | [number, "varint", number]
  | [number, "bytes", Uint8Array]
  | [number, "string", string]
  | [number, "float32", number];

function varint(value: number): number[] {
  // a negative int64 (an axis of −1) is its 64-bit two's complement: ten bytes
  if (value < 0) return varint64(BigInt.asUintN(64, BigInt(value)));
  const out: number[] = [];
  while (value > 127) {
    out.push((value % 128) | 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

function varint64(value: bigint): number[] {
  const out: number[] = [];
  for (; value > 127n; value >>= 7n) out.push(Number(value & 127n) | 128);
  out.push(Number(value));
  return out;
}

/** The bytes of a message with these fields, in order. */
export function message(fields: Field[]): Uint8Array {
  // parts joined once at the end: spreading a large payload (weights) into an array overflowed the stack
  const parts: ArrayLike<number>[] = [];
  for (const [num, kind, value] of fields) {
    if (kind === "varint") parts.push(varint(num << 3), varint(value));
    else if (kind === "float32")
      parts.push(varint((num << 3) | 5), new Uint8Array(Float32Array.of(value).buffer));
    else {
      const payload = kind === "string" ? new TextEncoder().encode(value) : value;
      parts.push(varint((num << 3) | 2), varint(payload.length), payload);
    }
  }
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/** onnx TensorProto.DataType codes. */
export const ELEM_TYPE = { float32: 1, int64: 7, bool: 9, float64: 11 } as const;

/** A tensor's type and (symbolic or fixed) dims; no dims at all leaves the shape unstated. */
export function tensorInfo(
  name: string,
  type: keyof typeof ELEM_TYPE,
  dims?: (string | number)[],
): Uint8Array {
  const shape = dims?.map(
    (d): Field => [1, "bytes", message([typeof d === "string" ? [2, "string", d] : [1, "varint", d]])],
  );
  const tensorType = message([
    [1, "varint", ELEM_TYPE[type]],
    ...(shape ? [[2, "bytes", message(shape)] as Field] : []),
  ]);
  return message([
    [1, "string", name],
    [2, "bytes", message([[1, "bytes", tensorType]])],
  ]);
}

/** A node's attribute (AttributeProto): its name, its value fields and its type number. */
function attribute(name: string, values: Field[], type: number): Field {
  return [5, "bytes", message([[1, "string", name], ...values, [20, "varint", type]])];
}

/** An INT attribute (AttributeProto type 2). */
export function intAttribute(name: string, value: number): Field {
  return attribute(name, [[3, "varint", value]], 2);
}

/** An INTS attribute (AttributeProto type 7). */
export function intsAttribute(name: string, values: number[]): Field {
  return attribute(
    name,
    values.map((v): Field => [8, "varint", v]),
    7,
  );
}

/** A FLOAT attribute (AttributeProto type 1). */
export function floatAttribute(name: string, value: number): Field {
  return attribute(name, [[2, "float32", value]], 1);
}

/** A STRING attribute (AttributeProto type 3). */
export function stringAttribute(name: string, value: string): Field {
  return attribute(name, [[4, "string", value]], 3);
}

/** A NodeProto field: `op` from `inputs` to `output`, with attributes. */
export function node(op: string, inputs: string[], output: string, attributes: Field[] = []): Field {
  return [
    1,
    "bytes",
    message([
      ...inputs.map((i): Field => [1, "string", i]),
      [2, "string", output],
      [4, "string", op],
      ...attributes,
    ]),
  ];
}

/** An initializer field: a constant tensor of float32 or int64 values, 1-D unless `dims` says otherwise. */
export function constant(
  name: string,
  type: "float32" | "int64",
  values: ArrayLike<number>,
  dims: readonly number[] = [values.length],
): Field {
  const raw =
    type === "float32"
      ? new Uint8Array(Float32Array.from(values).buffer)
      : new Uint8Array(BigInt64Array.from(Array.from(values, BigInt)).buffer);
  return [
    5,
    "bytes",
    message([
      ...dims.map((d): Field => [1, "varint", d]),
      [2, "varint", ELEM_TYPE[type]],
      [8, "string", name],
      [9, "bytes", raw],
    ]),
  ];
}

/** A ModelProto (IR 8, opset 13 unless given) of one graph: its nodes and initializers, inputs and outputs. */
export function model(
  name: string,
  body: Field[],
  inputs: Uint8Array[],
  outputs: Uint8Array[],
  opset = 13,
): Uint8Array {
  const graph = message([
    ...body,
    [2, "string", name],
    ...inputs.map((info): Field => [11, "bytes", info]),
    ...outputs.map((info): Field => [12, "bytes", info]),
  ]);
  return message([
    [1, "varint", 8], // ir_version
    [7, "bytes", graph],
    [8, "bytes", message([[2, "varint", opset]])],
  ]);
}

/** Appends a node `op` from `inputs` to `output` to a graph's body. */
export type Emit = (op: string, inputs: string[], output: string, attributes?: Field[]) => void;

/** A graph's body (starting with `initializers`) and the emitter that appends nodes to it. */
export function graphBody(initializers: Field[]): { body: Field[]; op: Emit } {
  const body = [...initializers];
  return {
    body,
    op: (name, inputs, output, attributes = []) => body.push(node(name, inputs, output, attributes)),
  };
}
