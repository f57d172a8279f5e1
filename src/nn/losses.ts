// Classification losses: cross-entropy (from logits) and the negative
// log-likelihood (from log-probabilities), with PyTorch's options and
// formulas. Each is a few kernel calls: the index check of class targets,
// log-softmax (cross-entropy only), and the `nll` kernel, which gathers the
// targets' terms with their weights and sums them in a fixed order; the
// gradient is one `nll_backward` call (for cross-entropy, softmax minus the
// smoothed one-hot target, times the weights and the incoming gradient,
// straight from the logits).
import { CONSTANTS, UNARY, nll as nllK, nllBackward as nllBackwardK, softmax as softmaxK, unary as unaryK } from '../backend/registry';
import { describe, isGradEnabled } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import { MAX_INDEX, indexArg, indexTensor, type IndexLike } from '../ops/indices';
import { output, record, run, sameBackend, tensorArg } from '../ops/op';
import { Tensor } from '../tensor';
import { readReduction, type Reduction } from './loss';

const { CHUNK } = CONSTANTS;

/** Options of `nllLoss`. */
export interface NllLossOptions {
  /** 'mean' (default: divided by the total weight of the non-ignored targets), 'sum' or 'none'. */
  reduction?: Reduction;
  /** A weight per class (shape [C]); default all ones. */
  weight?: Tensor | null;
  /** A target class that contributes nothing (default -100); a whole number in [-2^24, 2^24]. */
  ignoreIndex?: number;
}

/** Options of `crossEntropy`. */
export interface CrossEntropyOptions extends NllLossOptions {
  /** In [0, 1] (default 0): the share of the target moved to a uniform distribution over the classes. */
  labelSmoothing?: number;
}

interface Parsed {
  reduction: Reduction; weight: Tensor | null; ignore: number; ignoreGiven: boolean; eps: number;
}

/** Reads the options once each. */
function readOptions(opts: unknown, fn: string, smoothing: boolean): Parsed {
  const reduction = readReduction(opts, fn);
  if (opts === undefined) return { reduction, weight: null, ignore: -100, ignoreGiven: false, eps: 0 };
  const o = opts as Record<string, unknown>;
  const w = o.weight, ii = o.ignoreIndex, ls = smoothing ? o.labelSmoothing : undefined;
  if (!smoothing && o.labelSmoothing !== undefined) throw new TypeError(`${fn}: labelSmoothing is an option of crossEntropy, not of ${fn}`);
  const weight = w === undefined || w === null ? null : tensorArg(w, fn, 'weight');
  if (ii !== undefined && (typeof ii !== 'number' || !Number.isInteger(ii) || Math.abs(ii) > MAX_INDEX)) {
    throw new RangeError(`${fn}: ignoreIndex must be a whole number in [-2^24, 2^24], got ${typeof ii === 'number' ? ii : describe(ii)}`);
  }
  let eps = 0;
  if (ls !== undefined) {
    if (typeof ls !== 'number') throw new TypeError(`${fn}: labelSmoothing must be a number in [0, 1], got ${describe(ls)}`);
    if (!(ls >= 0 && ls <= 1)) throw new RangeError(`${fn}: labelSmoothing must be in [0, 1], got ${ls}`);
    eps = ls;
  }
  return { reduction, weight, ignore: (ii as number | undefined) ?? -100, ignoreGiven: ii !== undefined, eps };
}

/** The class layout of an input: [C], [N, C] or [N, C, d1, ...] as A = N, C, B = d1 * ...; and the class-target shape. */
function classLayout(x: Tensor, fn: string): { A: number; C: number; B: number; targetShape: number[] } {
  if (x.ndim === 0) throw new ShapeError(`${fn}: input must have a class dimension: shape [C], [N, C] or [N, C, d1, ...], got a 0-d tensor`);
  const C = x.ndim === 1 ? x.shape[0] : x.shape[1];
  if (C === 0) throw new ShapeError(`${fn}: input shape ${fmtShape(x.shape)} has no classes`);
  if (C > MAX_INDEX) throw new RangeError(`${fn}: ${C} classes; class indices are exact in float32 only up to 2^24 (${MAX_INDEX})`);
  let B = 1;
  for (let i = 2; i < x.ndim; i++) B *= x.shape[i];
  const targetShape = x.ndim === 1 ? [] : [x.shape[0], ...x.shape.slice(2)];
  return { A: x.ndim === 1 ? 1 : x.shape[0], C, B, targetShape };
}

/** A class weight argument: shape [C], no gradient. */
function checkWeight(w: Tensor | null, C: number, fn: string): void {
  if (!w) return;
  if (w.ndim !== 1 || w.shape[0] !== C) {
    throw new ShapeError(`${fn}: weight must have shape [${C}] (one per class), got ${fmtShape(w.shape)}`);
  }
  if (w.requiresGrad && isGradEnabled()) {
    throw new TypeError(`${fn}: weight requires grad, but the loss is not differentiable with respect to it (as in PyTorch); pass weight.detach()`);
  }
}

/** Reads class-index targets whose shape must be `want` (a flat array of the right length takes that shape). */
function classTargets(target: unknown, want: number[], input: Tensor, fn: string) {
  let ia = indexArg(target, fn, 'target');
  const size = want.reduce((a, b) => a * b, 1);
  if (!ia.tensor && ia.shape.length === 1 && ia.size === size && want.length !== 1) ia = { name: ia.name, shape: want.slice(), size: ia.size, tensor: ia.tensor, data: ia.data };
  if (fmtShape(ia.shape) !== fmtShape(want)) {
    throw new ShapeError(`${fn}: target shape ${fmtShape(ia.shape)} does not fit input shape ${fmtShape(input.shape)}: class indices have shape ${fmtShape(want)}${fn === 'crossEntropy' ? `, probabilities ${fmtShape(input.shape)}` : ''}`);
  }
  return ia;
}

/** Element chunk of the nll kernels (fixed by the shape alone). */
const chunkOf = (C: number) => Math.max(1, Math.floor(CHUNK / C));

/** Every field of the nll kernels' arguments in one literal (an object built by adding properties to a copy is slow). */
function nllArgs(p: { A: number; C: number; B: number; red: number; prob: number; eps: number; ignore: number; w: Tensor | null },
                 b: { MC: number; finish?: number; ce?: number; wsum?: number; x: Tensor; t: Tensor; g?: Tensor | null; y: Tensor; part?: Tensor | null; dt?: Tensor | null }) {
  return {
    A: p.A, C: p.C, B: p.B, MC: b.MC, red: p.red, finish: b.finish ?? 0, prob: p.prob, ce: b.ce ?? 0,
    eps: p.eps, ignore: p.ignore, wsum: b.wsum ?? 0, x: b.x, t: b.t, w: p.w, g: b.g ?? null, y: b.y, part: b.part ?? null, dt: b.dt ?? null,
  };
}

/**
 * Runs the nll forward on x ([A, C, B] log-probabilities): the loss tensor and,
 * for class targets with 'mean', the total weight it was divided by.
 */
function nllForward(fn: string, x: Tensor, t: Tensor, p: { A: number; C: number; B: number; red: number; prob: number; eps: number; ignore: number; w: Tensor | null },
                    outShape: number[]): { out: Tensor; wsum: number } {
  const M = p.A * p.B, MC = chunkOf(p.C);
  const be = x.backend;
  if (p.red === 0) {
    const out = output(outShape, fn);
    if (M > 0) run(be, nllK, nllArgs(p, { MC, x, t, y: out }), fn, out);
    return { out, wsum: 0 };
  }
  const out = output([], fn);
  if (M === 0) {
    // PyTorch: the mean of nothing is NaN, the sum 0.
    run(be, unaryK, { n: 1, op: UNARY.FILL, s0: p.red === 2 ? NaN : 0, x: out, y: out }, fn, out);
    return { out, wsum: 0 };
  }
  const nchunk = Math.ceil(M / MC);
  const part = output([3 * (nchunk + 1)], fn);
  try {
    run(be, nllK, nllArgs(p, { MC, x, t, y: out, part }), fn, out);
    if (nchunk > 1) run(be, nllK, nllArgs(p, { MC, finish: 1, x, t, y: out, part }), fn, out);
    const wsum = p.red === 2 ? be.read(part.storage.block, part.offset + 3 * nchunk + 2, 1)[0] : 0;
    return { out, wsum };
  } finally {
    part.dispose();
  }
}

/**
 * The negative log-likelihood of class targets given log-probabilities, as
 * `torch.nn.functional.nll_loss`: input [N, C] (or [C], or [N, C, d1, ...])
 * and class indices [N] (or [], or [N, d1, ...]) as a tensor of whole numbers,
 * an Int32Array or an array of numbers. Each element's loss is
 * -weight[t] * input[t]; a target equal to ignoreIndex contributes nothing;
 * 'mean' divides by the total weight of the other targets (NaN when there are none).
 * @example
 * nllLoss(tensor([[-1, -2], [-3, -4]]), [0, 1]).item();                      // 2.5
 * nllLoss(tensor([[-1, -2], [-3, -4]]), [0, 1], { reduction: 'none' }).toArray(); // [1, 4]
 */
export function nllLoss(input: Tensor, target: IndexLike, opts?: NllLossOptions): Tensor {
  const fn = 'nllLoss';
  const x = tensorArg(input, fn, 'input');
  const o = readOptions(opts, fn, false);
  const { A, C, B, targetShape } = classLayout(x, fn);
  checkWeight(o.weight, C, fn);
  const ia = classTargets(target, targetShape, x, fn);
  sameBackend(fn, x, ...(ia.tensor ? [ia.tensor] : []), ...(o.weight ? [o.weight] : []));
  const red = o.reduction === 'none' ? 0 : o.reduction === 'sum' ? 1 : 2;
  const { t, own } = indexTensor(ia, fn, C, o.ignore, (v, at) => `${fn}: target ${v} at ${at} is out of range for ${C} classes; class indices must be in [0, ${C - 1}] or equal ignoreIndex (${o.ignore})`);
  const p = { A, C, B, red, prob: 0, eps: 0, ignore: o.ignore, w: o.weight };
  let r: { out: Tensor; wsum: number };
  try {
    r = nllForward(fn, x, t, p, targetShape);
  } catch (e) {
    if (own) t.dispose();
    throw e;
  }
  const { out, wsum } = r;
  if (own && !(x.requiresGrad && isGradEnabled())) t.dispose();
  return record(out, fn, [x], o.weight ? [t, o.weight] : [t], (g) => {
    const dx = output(x.shape, fn);
    if (dx.size > 0) run(x.backend, nllBackwardK, nllArgs(p, { MC: chunkOf(C), ce: 0, wsum, x, t, g, y: dx }), fn, dx);
    return [dx];
  });
}

/**
 * Cross-entropy between logits and targets, as `torch.nn.functional.cross_entropy`:
 * logSoftmax over the class dimension, then the negative log-likelihood.
 * `input` is [N, C] (or [C], or [N, C, d1, ...]); `target` is either class
 * indices of shape [N] (or [], or [N, d1, ...]) — a tensor of whole numbers,
 * an Int32Array or an array of numbers — or class probabilities, a float
 * tensor of the input's shape. Options: `reduction` ('mean' default: divided
 * by the total weight of the non-ignored targets, or for probabilities by the
 * number of elements N * d1 * ...), `weight` per class, `ignoreIndex` (class
 * targets only; default -100) and `labelSmoothing` in [0, 1], which mixes each
 * target with the uniform distribution as PyTorch does.
 * @example
 * crossEntropy(tensor([[0, 0], [0, 0]]), [0, 1]).item();                        // 0.6931 (log 2)
 * crossEntropy(tensor([[2, 0]]), new Int32Array([0]), { reduction: 'sum' }).item(); // 0.1269 (log(1 + e^-2))
 * crossEntropy(tensor([[0, 0]]), tensor([[0.5, 0.5]])).item();                   // 0.6931
 */
export function crossEntropy(input: Tensor, target: IndexLike, opts?: CrossEntropyOptions): Tensor {
  const fn = 'crossEntropy';
  const x = tensorArg(input, fn, 'input');
  const o = readOptions(opts, fn, true);
  const { A, C, B, targetShape } = classLayout(x, fn);
  checkWeight(o.weight, C, fn);
  // A float tensor of the input's shape holds probabilities; anything else, class indices.
  const probT = target instanceof Tensor && fmtShape(tensorArg(target, fn, 'target').shape) === fmtShape(x.shape) ? target : null;
  if (probT && o.ignoreGiven && o.ignore >= 0) {
    throw new TypeError(`${fn}: ignoreIndex applies to class-index targets only; target has the input's shape ${fmtShape(x.shape)} (probabilities)`);
  }
  const ia = probT ? null : classTargets(target, targetShape, x, fn);
  sameBackend(fn, x, ...(probT ? [probT] : ia!.tensor ? [ia!.tensor] : []), ...(o.weight ? [o.weight] : []));
  const red = o.reduction === 'none' ? 0 : o.reduction === 'sum' ? 1 : 2;
  const { t, own } = probT ? { t: probT, own: false }
    : indexTensor(ia!, fn, C, o.ignore, (v, at) => `${fn}: target ${v} at ${at} is out of range for ${C} classes; class indices must be in [0, ${C - 1}] or equal ignoreIndex (${o.ignore})`);
  const p = { A, C, B, red, prob: probT ? 1 : 0, eps: o.eps, ignore: o.ignore, w: o.weight };
  let r: { out: Tensor; wsum: number };
  const logp = output(x.shape, fn);
  try {
    if (logp.size > 0) run(x.backend, softmaxK, { A, R: C, B, log: 1, backward: 0, x, y: logp }, fn, null);
    r = nllForward(fn, logp, t, p, targetShape);
  } catch (e) {
    if (own) t.dispose();
    throw e;
  } finally {
    logp.dispose();
  }
  const { out } = r;
  // The mean divides by the targets' total weight, or for probabilities by the number of elements.
  const wsum = red === 2 && probT ? A * B : r.wsum;
  const inputs = probT ? [x, probT] : [x];
  if (own && !(x.requiresGrad && isGradEnabled())) t.dispose();
  return record(out, fn, inputs, o.weight ? [x, t, o.weight] : [x, t], (g) => {
    const dx = output(x.shape, fn);
    const dt = probT && probT.requiresGrad ? output(x.shape, fn) : null;
    try {
      if (dx.size > 0) run(x.backend, nllBackwardK, nllArgs(p, { MC: chunkOf(C), ce: 1, wsum, x, t, g, y: dx, dt }), fn, null);
    } catch (e) {
      dx.dispose(); dt?.dispose();
      throw e;
    }
    if (!x.requiresGrad) { dx.dispose(); return [null, dt]; }
    return probT ? [dx, dt] : [dx];
  });
}
