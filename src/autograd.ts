import { noGrad, ownGrad, scoped } from './engine';
import { AutogradError, DisposedError, ShapeError, fmtShape } from './errors';
import { Tensor, empty, readValues, tensor, view } from './tensor';
import { addInPlace, add, clone, fillInPlace } from './ops/elementwise';

export { AutogradError };

/** Numbers backward() passes apart (a tensor's _mark says which pass visited it). */
let pass = 0;

function describeTensor(t: Tensor): string {
  return `tensor #${t.id} with shape ${fmtShape(t.shape)}${t._ctx ? ` (made by ${t._ctx.name})` : ''}`;
}

/**
 * The nodes that need gradients, reachable from `root`, in topological order
 * (inputs before outputs), found without recursion so any depth works.
 * Throws AutogradError when a node or a tensor a backward needs was disposed
 * or changed in place since it was recorded.
 */
function graph(root: Tensor, mark: number): Tensor[] {
  const order: Tensor[] = [];
  root._mark = mark;
  const stack: Tensor[] = [root];
  const next: number[] = [0];
  while (stack.length) {
    const t = stack[stack.length - 1];
    const i = next[next.length - 1];
    if (i === 0) {
      if (t._graphFreed) {
        throw new AutogradError(`backward: the graph behind ${describeTensor(t)} was already freed by an earlier backward()`);
      }
      if (t.isDisposed) {
        throw new DisposedError(`backward: ${describeTensor(t)} is part of the graph but was disposed (by dispose() or the tidy scope that made it); keep it (return it from tidy, or keep()) or call backward() inside that scope`);
      }
      const ctx = t._ctx;
      if (ctx) {
        for (let j = 0; j < ctx.saved.length; j++) {
          const s = ctx.saved[j], version = ctx.versions[j];
          if (s.isDisposed) {
            throw new DisposedError(`backward: ${describeTensor(s)}, needed to compute the gradient of ${ctx.name}, was disposed`);
          }
          if (s.version !== version) {
            throw new AutogradError(`backward: one of the variables needed for gradient computation has been modified by an inplace operation: ${describeTensor(s)}, saved by ${ctx.name}, is at version ${s.version}; expected version ${version} instead`);
          }
        }
      }
    }
    const inputs = t._ctx ? t._ctx.inputs : [];
    if (i < inputs.length) {
      next[next.length - 1] = i + 1;
      const c = inputs[i];
      if (c.requiresGrad && c._mark !== mark) { c._mark = mark; stack.push(c); next.push(0); }
    } else {
      stack.pop(); next.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Reverse-mode differentiation from `root`: accumulates d(root)/d(leaf) into
 * `leaf.grad` for every leaf that requires gradients, then frees the graph.
 * A non-scalar root needs `grad`, the gradient flowing into it.
 *
 * Everything is checked before anything is computed (a disposed node, a saved
 * tensor changed in place since it was recorded), and the leaves' `.grad`s
 * change only once every gradient was computed: a backward that fails (out of
 * memory, say) leaves every `.grad` and the graph as they were.
 *
 * @example
 * const w = tensor([2], undefined, { requiresGrad: true });
 * const y = w.mul(w).sum();   // y = w^2
 * y.backward();
 * w.grad!.toArray();          // [4]
 */
export function backward(root: Tensor, grad?: Tensor | number | readonly unknown[] | ArrayLike<number>): void {
  const fn = 'backward';
  if (!(root instanceof Tensor)) throw new TypeError(`${fn}: expected a Tensor`);
  root.check(fn);
  if (root._graphFreed) {
    throw new AutogradError(`${fn}: the graph behind tensor #${root.id} was already freed by an earlier backward()`);
  }
  if (!root.requiresGrad) {
    throw new AutogradError(`${fn}: tensor #${root.id} with shape ${fmtShape(root.shape)} does not require grad and has no history; create its inputs with { requiresGrad: true }`);
  }
  // The seed, checked before anything is made.
  let seedValues: ArrayLike<number> | null = null;
  let userSeed: Tensor | null = null;
  if (grad === undefined) {
    if (root.size !== 1) {
      throw new AutogradError(`${fn}: a gradient can be implied only for a one-element output; tensor #${root.id} has shape ${fmtShape(root.shape)}, so pass backward(grad) with that shape`);
    }
  } else if (grad instanceof Tensor) {
    grad.check(fn);
    if (grad.backend !== root.backend) throw new TypeError(`${fn}: the gradient and tensor #${root.id} live on different backends`);
    if (fmtShape(grad.shape) !== fmtShape(root.shape)) {
      throw new ShapeError(`${fn}: gradient shape ${fmtShape(grad.shape)} does not match output shape ${fmtShape(root.shape)}`);
    }
    userSeed = grad;
  } else {
    const v = readValues(grad, fn);
    if (v.data.length !== root.size) {
      throw new ShapeError(`${fn}: gradient shape ${fmtShape(v.shape)} does not match output shape ${fmtShape(root.shape)}`);
    }
    seedValues = v.data;
  }
  const order = graph(root, ++pass);

  // Phase 1: every gradient, into tensors this call owns (each node's so far in
  // its _acc). Nothing visible changes.
  const leaves: Tensor[] = [];
  const seedStorage = userSeed ? userSeed.storage : null;
  /** The implied seed: ones shaped like t. */
function ones(t: Tensor): Tensor {
  const s = empty(t.shape, 'backward');
  try { fillInPlace(s, 1); } catch (e) { s.dispose(); throw e; }
  return s;
}

/** Whether g may be written in place: nobody else views its storage. */
  const exclusive = (g: Tensor) => g.storage.refs === 1 && g.storage !== seedStorage;
  const drop = () => {
    for (const t of order) if (t._acc) { t._acc.dispose(); t._acc = null; }
  };
  try {
    noGrad(() => {
      root._acc = userSeed ? view(userSeed, userSeed.shape, userSeed.size)
        : seedValues ? tensor(seedValues as number[], root.shape)
        : ones(root);
      for (let k = order.length - 1; k >= 0; k--) {
        const node = order[k];
        const g = node._acc;
        if (!g) continue;
        const ctx = node._ctx;
        if (!ctx) {
          // A leaf: its gradient is complete; own it outright.
          if (!exclusive(g)) node._acc = ownCopy(g);
          leaves.push(node);
          continue;
        }
        node._acc = null;
        let inputGrads: Array<Tensor | null>;
        try {
          inputGrads = scoped(() => ctx.backward(g));
          if (inputGrads.includes(g)) throw new AutogradError(`${fn}: internal error: the backward of ${ctx.name} returned its incoming gradient`);
        } finally {
          g.dispose();
        }
        const inputs = ctx.inputs;
        for (let i = 0; i < inputs.length; i++) {
          const input = inputs[i], gi = inputGrads[i];
          if (!gi) continue;
          if (!input.requiresGrad) { gi.dispose(); continue; }
          const prev = input._acc;
          if (!prev) { input._acc = gi; continue; }
          if (exclusive(prev)) { addInPlace(prev, gi); gi.dispose(); continue; }
          input._acc = add(prev, gi);
          prev.dispose(); gi.dispose();
        }
      }
    });
  } catch (e) {
    drop();
    throw e;
  }

  // Accumulating into an existing .grad needs its shape (it may have been assigned by hand).
  for (const leaf of leaves) {
    const old = leaf.grad, g = leaf._acc!;
    if (old && !old.isDisposed && (old.backend !== g.backend || fmtShape(old.shape) !== fmtShape(g.shape))) {
      drop();
      throw new AutogradError(`${fn}: tensor #${leaf.id} has a .grad of shape ${fmtShape(old.shape)} that cannot accumulate a gradient of shape ${fmtShape(g.shape)}`);
    }
  }

  // Phase 2: commit. In-place additions and assignments only; nothing allocates.
  noGrad(() => {
    for (const leaf of leaves) {
      const g = leaf._acc!;
      leaf._acc = null;
      if (leaf.grad && !leaf.grad.isDisposed) { addInPlace(leaf.grad, g); g.dispose(); }
      else { leaf.grad = g; ownGrad(leaf, g); }
    }
  });
  for (const t of order) if (t._ctx) { t._ctx = null; t._graphFreed = true; }
}

function ownCopy(g: Tensor): Tensor {
  const c = clone(g);
  g.dispose();
  return c;
}
