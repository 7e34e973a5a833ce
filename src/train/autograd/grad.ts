import { check } from "../../core/errors.js";
import { describe, size } from "./nd.js";
import { add, detach } from "./ops.js";
import { constant, type Tensor, topologicalOrder } from "./tensor.js";

/**
 * Gradients of a one-element `output` with respect to `inputs` (zeros where it does not depend on one).
 * With `createGraph` they are tensors of the graph, differentiable again (Hessian-vector products,
 * gradients through an inner update); otherwise detached. Traced outputs give traced gradients.
 */
export function grad(
  output: Tensor,
  inputs: readonly Tensor[],
  options: { createGraph?: boolean } = {},
): Tensor[] {
  check(size(output.shape) === 1, "grad", "a one-element output (a loss)", () => describe(output.shape));
  // the nodes gradients flow through, each after its inputs
  const order = output.requiresGrad
    ? topologicalOrder([output], (t) => t.inputs.filter((x) => x.requiresGrad))
    : [];
  const grads = new Map<Tensor, Tensor>([[output, constant(output.shape, [1])]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = grads.get(t);
    if (!g || !t.op?.vjp) continue;
    for (const [i, contribution] of t.op.vjp(g, t).entries()) {
      const x = t.inputs[i];
      if (!contribution || !x.requiresGrad) continue;
      const previous = grads.get(x);
      grads.set(x, previous ? add(previous, contribution) : contribution);
    }
  }
  return inputs.map((x) => {
    const g = grads.get(x) ?? constant(x.shape, new Float64Array(size(x.shape)));
    return options.createGraph ? g : detach(g);
  });
}
