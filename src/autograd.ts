import { ShapeError, WasmconvError, fmtShape } from './errors';
import { Tensor, keep, noGrad, flatten, tensor, type TensorLike } from './tensor';
import { addInPlace, copy, ones_like, reshape } from './ops/elementwise';

/** A gradient that cannot be computed: no graph, a freed graph, a missing seed. */
export class AutogradError extends WasmconvError {}

const freed = new WeakSet<Tensor>();

/** `tensor(data)` with errors that name the calling function. */
function tensorNamed(data: TensorLike, fn: string): Tensor {
  if (data instanceof Float32Array || data instanceof Float64Array) return tensor(data);
  const f = flatten(data, fn);
  return tensor(f.data, f.shape);
}

/**
 * Reverse-mode differentiation from `root`: accumulates d(root)/d(leaf) into
 * `leaf.grad` for every leaf that requires gradients, then frees the graph.
 * A non-scalar root needs `grad`, the gradient flowing into it.
 *
 * @example
 * const w = tensor([2], undefined, { requiresGrad: true });
 * const y = w.mul(w).sum();   // y = w^2
 * y.backward();
 * w.grad!.toArray();          // [4]
 */
export function backward(root: Tensor, grad?: Tensor | TensorLike): void {
  root.check('backward');
  if (freed.has(root)) {
    throw new AutogradError(`backward: the graph behind tensor #${root.id} was already freed by an earlier backward()`);
  }
  if (!root.requiresGrad) {
    throw new AutogradError(`backward: tensor #${root.id} with shape ${fmtShape(root.shape)} does not require grad and has no history; create its inputs with { requiresGrad: true }`);
  }
  let seed: Tensor;
  if (grad === undefined) {
    if (root.size !== 1) {
      throw new AutogradError(`backward: a gradient can be implied only for a one-element output; tensor #${root.id} has shape ${fmtShape(root.shape)}, so pass backward(grad) with that shape`);
    }
    seed = noGrad(() => ones_like(root));
  } else {
    const g = grad instanceof Tensor ? grad.check('backward') : null;
    const gshape = g ? g.shape : null;
    // A user's gradient tensor is read, never freed or written.
    seed = g ?? noGrad(() => tensorNamed(grad as TensorLike, 'backward'));
    const shape = gshape ?? seed.shape;
    if (seed.size !== root.size || (g && fmtShape(shape) !== fmtShape(root.shape))) {
      if (!g) seed.dispose();
      throw new ShapeError(`backward: gradient shape ${fmtShape(shape)} does not match output shape ${fmtShape(root.shape)}`);
    }
    if (fmtShape(seed.shape) !== fmtShape(root.shape)) {
      const fixed = noGrad(() => reshape(seed, root.shape));
      if (!g) seed.dispose();
      seed = fixed;
    }
  }

  // Topological order of the nodes that need gradients.
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const visit = (t: Tensor): void => {
    if (seen.has(t) || !t.requiresGrad) return;
    seen.add(t);
    if (t._ctx) for (const i of t._ctx.inputs) visit(i);
    order.push(t);
  };
  visit(root);
  // Every tensor the gradients read must still exist: check before computing anything.
  try {
    for (const t of order) {
      t.check('backward');
      if (t._ctx) for (const i of t._ctx.inputs) i.check('backward');
    }
  } catch (e) {
    if (seed !== grad) seed.dispose();
    throw e;
  }

  const userSeed = grad instanceof Tensor ? seed : null;
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  noGrad(() => {
    try {
      for (let k = order.length - 1; k >= 0; k--) {
        const node = order[k];
        const g = grads.get(node);
        if (!g) continue;
        grads.delete(node);
        const owned = g !== userSeed;
        if (!node._ctx) {
          if (freed.has(node)) { if (owned) g.dispose(); continue; }
          node.check('backward');
          if (node.grad && !node.grad.isDisposed) { addInPlace(node.grad, g); if (owned) g.dispose(); }
          else node.grad = keep(owned ? g : copy(g));
          continue;
        }
        const ctx = node._ctx;
        let inputGrads: Array<Tensor | null>;
        try {
          inputGrads = ctx.backward(g);
        } finally {
          if (owned) g.dispose();
        }
        ctx.inputs.forEach((input, i) => {
          const gi = inputGrads[i];
          if (!gi) return;
          if (!input.requiresGrad) { gi.dispose(); return; }
          const prev = grads.get(input);
          if (prev) { addInPlace(prev, gi); gi.dispose(); } else grads.set(input, gi);
        });
      }
    } finally {
      for (const g of grads.values()) if (g !== userSeed) g.dispose();
    }
  });
  for (const t of order) if (t._ctx) { t._ctx = null; freed.add(t); }
}
