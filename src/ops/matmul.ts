// Matrix products: matmul (torch.matmul, batched with broadcasting, 1-D
// operands promoted and their dimension removed afterwards) and linear
// (torch.nn.functional.linear, weight stored (out, in)). Both run the
// registry's `gemm` family, which reads transposed operands in place and sums
// broadcast batches itself, so neither the forward nor the backward copies,
// transposes or expands an operand.
import type { Backend, Buf } from '../backend/backend';
import { MAXDIM, type Params } from '../backend/layout';
import { BINARY, binary as binaryK, gemm as gemmK, gemmPackB, gemmPackedLength, type Gemm } from '../backend/registry';
import { ShapeError, fmtShape } from '../errors';
import { MAX_ELEMENTS, type Tensor, view } from '../tensor';
import { broadcastShapes, broadcastStrides, mergeDims } from './elementwise';
import { derived, output, record, run, sameBackend, tensorArg } from './op';
import { sumTo } from './reduce';

/** Largest k block packed at once (floats of a panel row: 256 * 8 * 4 bytes = 8 KiB). */
const KC_MAX = 256;
/** Largest row and column blocks of a work unit. */
const MB_MAX = 64, NB_MAX = 64;
/** Flops above which a product is cut into at least UNITS_MIN units (so that threads share it). */
const SPLIT_FLOPS = 4e6, UNITS_MIN = 8;

/**
 * One batched product for the `gemm` kernel: C = bias + op(A) @ op(B) over the
 * batch index space S, with per-dimension element strides of A, B and C in S
 * (0 where broadcast; a dimension where C's stride is 0 and S's size is not 1
 * is summed over).
 */
interface GemmSpec {
  M: number; N: number; K: number; ta: boolean; tb: boolean;
  S: readonly number[]; sa: readonly number[]; sb: readonly number[]; sc: readonly number[];
  a: Tensor; b: Tensor; c: Tensor; bias: Tensor | null; bs: number;
  /** op(B) packed whole by gemm_pack_b (no batches, not swapped), or nothing. */
  bp?: Buf | null;
}

/** Row-major element strides of `shape` seen in the index space `S` (aligned at the end), times `inner`; 0 where broadcast. */
function stridesIn(shape: readonly number[], S: readonly number[], inner: number): number[] {
  return broadcastStrides(shape, S).map((s) => s * inner);
}

const EMPTY: number[] = [];

/**
 * A planned product: the kernel's parameters and whether A and B trade places.
 * `p` holds every parameter, its buffers null until runGemm sets them for one
 * call (one object of fixed shape: a copy with properties added after it would
 * be slow to build and to read).
 */
interface GemmPlan { p: Params<typeof Gemm.fields>; swap: boolean }

/**
 * Plans one product: batch dimensions classified (output or summed) and
 * merged, work units sized. Throws RangeError, before anything is allocated,
 * when the batch dimensions do not merge into MAXDIM.
 */
function gemmPlan(fn: string, g: Omit<GemmSpec, 'a' | 'b' | 'c' | 'bias'>): GemmPlan {
  let { M, N, ta, tb, sa, sb, bs } = g;
  const K = g.K;
  const swap = N === 1 && M > 1;
  if (swap) {
    // A matrix-vector product: as the vector-matrix product C^T = op(B)^T op(A)^T
    // (the same memory for a one-column C), whose rows fill the 8-wide tiles.
    [M, N, sa, sb] = [1, M, sb, sa];
    [ta, tb] = [!tb, !ta];
    bs = 0;
  }
  // Output batches and summed batches, each merged into the fewest dimensions.
  const out: number[] = [], red: number[] = [];
  const os: number[][] = [[], [], []], rs: number[][] = [[], []];
  let nr = 1;
  for (let d = 0; d < g.S.length; d++) {
    const s = g.S[d];
    if (s === 1) continue;
    if (g.sc[d] === 0) {
      nr *= s;
      const last = red.length - 1;
      if (last >= 0 && rs[0][last] === sa[d] * s && rs[1][last] === sb[d] * s) { red[last] *= s; rs[0][last] = sa[d]; rs[1][last] = sb[d]; }
      else { red.push(s); rs[0].push(sa[d]); rs[1].push(sb[d]); }
    } else {
      const last = out.length - 1;
      if (last >= 0 && os[0][last] === sa[d] * s && os[1][last] === sb[d] * s && os[2][last] === g.sc[d] * s) {
        out[last] *= s; os[0][last] = sa[d]; os[1][last] = sb[d]; os[2][last] = g.sc[d];
      } else { out.push(s); os[0].push(sa[d]); os[1].push(sb[d]); os[2].push(g.sc[d]); }
    }
  }
  if (out.length > MAXDIM || red.length > MAXDIM) {
    throw new RangeError(`${fn}: the operands' batch dimensions leave ${Math.max(out.length, red.length)} dimensions that cannot be merged; the kernels take at most ${MAXDIM}`);
  }
  if (nr === 0) red.length = 0;
  const nb = out.reduce((p, q) => p * q, 1);
  // Units of MB rows by NB columns: as large as the tiles allow, cut further
  // (never below 16) when a large product would leave too few to share.
  let MB = Math.min(MB_MAX, Math.ceil(M / 4) * 4), NB = Math.min(NB_MAX, Math.ceil(N / 8) * 8);
  if (2 * M * N * K * nb * Math.max(nr, 1) >= SPLIT_FLOPS) {
    while (nb * Math.ceil(M / MB) * Math.ceil(N / NB) < UNITS_MIN && (MB > 16 || NB > 16)) {
      if (MB >= NB && MB > 16) MB = Math.ceil(MB / 8) * 4; else NB = Math.ceil(NB / 16) * 8;
    }
  }
  const KC = Math.max(1, Math.min(K, KC_MAX));
  return {
    swap,
    p: {
      M, N, K, ta: ta ? 1 : 0, tb: tb ? 1 : 0, MB, NB, KC, nb, bdim: out.length, nr, rdim: red.length, bs,
      bshape: out, bsa: os[0], bsb: os[1], bsc: os[2], rshape: red.length ? red : EMPTY, rsa: rs[0], rsb: rs[1],
      a: null, b: null, bias: null, c: null, bp: null,
    },
  };
}

/** Runs one product (nothing when C is empty). On failure the tensors in `made` are freed. */
function runGemm(fn: string, be: Backend, g: GemmSpec, made: Tensor | readonly Tensor[] | null, plan?: GemmPlan): void {
  if (g.c.size === 0) return;
  const { p, swap } = plan ?? gemmPlan(fn, g);
  p.a = swap ? g.b : g.a; p.b = swap ? g.a : g.b; p.bias = g.bias; p.c = g.c; p.bp = swap ? null : g.bp ?? null;
  try {
    run(be, gemmK, p, fn, made);
  } finally {
    p.a = null; p.b = null; p.bias = null; p.c = null; p.bp = null;   // a plan holds no tensor
  }
}

/**
 * A linear layer's weight (N, K), read as op(B) = weight^T, packed whole into
 * the panels the GEMM reads and cached on the weight's storage: the key names
 * everything the packed data depends on besides the values (where the weight
 * starts, its shape, the build); the storage repacks it when its version
 * changed and frees it with itself. Every row block of every call then reads
 * the same panels instead of packing the weight again (a batch-1 inference
 * spends most of its time packing otherwise). Values identical to the panels
 * the GEMM packs itself, so results do not depend on the path.
 */
function packedWeight(be: Backend, w: Tensor, N: number, K: number, fn: string): Buf {
  const key = `linear/${w.offset}/${N},${K}/${be.build}`;
  return derived(w, key, gemmPackedLength(N, K), (dst) => run(be, gemmPackB, { N, K, tb: 1, b: w, c: dst }, fn, []), `weight ${fmtShape(w.shape)}`, fn);
}

/** Shapes of a matmul, validated (see `matmul`). */
interface MatmulPlan {
  M: number; K: number; N: number;
  /** Batch index space, and each operand's batch shape aligned to it. */
  S: number[]; batchA: number[]; batchB: number[];
  out: number[];
}

function matmulPlan(as: readonly number[], bs: readonly number[], fn: string): MatmulPlan {
  if (as.length === 0 || bs.length === 0) {
    throw new ShapeError(`${fn}: both arguments need to be at least 1-D, but they are ${as.length}-D and ${bs.length}-D (shapes ${fmtShape(as)} and ${fmtShape(bs)})`);
  }
  const a1 = as.length === 1, b1 = bs.length === 1;
  const M = a1 ? 1 : as[as.length - 2], K = as[as.length - 1];
  const Kb = b1 ? bs[0] : bs[bs.length - 2], N = b1 ? 1 : bs[bs.length - 1];
  if (K !== Kb) {
    const what = a1 && b1 ? `${K} vs ${Kb} elements` : `a has ${K} column${K === 1 ? '' : 's'}, b has ${Kb} row${Kb === 1 ? '' : 's'}`;
    throw new ShapeError(`${fn}: shapes ${fmtShape(as)} and ${fmtShape(bs)} cannot be multiplied (${what})`);
  }
  const ba = as.slice(0, Math.max(0, as.length - 2)), bb = bs.slice(0, Math.max(0, bs.length - 2));
  let S: number[];
  try {
    S = broadcastShapes(ba, bb, fn);
  } catch {
    throw new ShapeError(`${fn}: the batch dimensions of shapes ${fmtShape(as)} and ${fmtShape(bs)} cannot be broadcast together (${fmtShape(ba)} and ${fmtShape(bb)})`);
  }
  const out = [...S, ...(a1 ? [] : [M]), ...(b1 ? [] : [N])];
  let extent = 1;
  for (const d of out) extent *= Math.max(d, 1);
  if (extent > MAX_ELEMENTS) {
    throw new RangeError(`${fn}: the product of shapes ${fmtShape(as)} and ${fmtShape(bs)} would have shape ${fmtShape(out)}, more than the 2^29 (${MAX_ELEMENTS}) elements a tensor may have`);
  }
  const pad = (s: number[]) => [...new Array<number>(S.length - s.length).fill(1), ...s];
  return { M, K, N, S, batchA: pad(ba), batchB: pad(bb), out };
}

/**
 * Matrix product with the semantics of `torch.matmul`: two 1-D tensors give
 * their dot product (a 0-d tensor); 2-D by 2-D is the matrix product; a 1-D
 * first operand is treated as a row [1, K] and a 1-D second operand as a
 * column [K, 1], the added dimension removed from the result; with more than
 * two dimensions the leading (batch) dimensions broadcast, e.g.
 * [2, 1, 3, 4] @ [5, 4, 6] gives [2, 5, 3, 6]. Gradients flow to both
 * operands (summed over the batch dimensions they were broadcast along).
 *
 * @example
 * matmul(tensor([1, 2, 3]), tensor([4, 5, 6])).item();                   // 32
 * matmul(tensor([[1, 2], [3, 4]]), tensor([[5, 6], [7, 8]])).toArray();  // [[19, 22], [43, 50]]
 * matmul(tensor([[1, 2], [3, 4]]), tensor([1, 1])).toArray();            // [3, 7]
 * matmul(tensor([1, 1]), tensor([[1, 2], [3, 4]])).toArray();            // [4, 6]
 * matmul(ones([2, 1, 3, 4]), ones([5, 4, 6])).shape;                     // [2, 5, 3, 6]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const fn = 'matmul';
  const x = tensorArg(a, fn, 'a'), y = tensorArg(b, fn, 'b');
  const be = sameBackend(fn, x, y)!;
  const p = matmulPlan(x.shape, y.shape, fn);
  const { M, K, N, S } = p;
  // Element strides in the batch space: of A, of B, and of C (or of a gradient shaped like C).
  const sa = stridesIn(p.batchA, S, M * K), sb = stridesIn(p.batchB, S, K * N), sc = stridesIn(S, S, M * N);
  const spec = { M, N, K, ta: false, tb: false, S, sa, sb, sc, bias: null, bs: 0 };
  const plan = gemmPlan(fn, spec);
  const c = output(p.out, fn);
  runGemm(fn, be, { M, N, K, ta: false, tb: false, S, sa, sb, sc, a: x, b: y, c, bias: null, bs: 0 }, c, plan);
  // As PyTorch, each operand is kept only for the other's gradient (decided now).
  const gx = x.requiresGrad, gy = y.requiresGrad;
  return record(c, fn, [x, y], [...(gy ? [x] : []), ...(gx ? [y] : [])], (g) => {
    const bfn = `${fn} backward`;
    let da: Tensor | null = null, db: Tensor | null = null;
    if (gx) {
      // dA = dC @ B^T, summed over the batches A was broadcast along.
      da = output(x.shape, bfn);
      runGemm(bfn, be, { M, N: K, K: N, ta: false, tb: true, S, sa: sc, sb, sc: sa, a: g, b: y, c: da, bias: null, bs: 0 }, da);
    }
    if (gy) {
      // dB = A^T @ dC, summed over the batches B was broadcast along.
      db = output(y.shape, bfn);
      runGemm(bfn, be, { M: K, N, K: M, ta: true, tb: false, S, sa, sb: sc, sc: sb, a: x, b: g, c: db, bias: null, bs: 0 }, da ? [db, da] : db);
    }
    return [da, db];
  });
}

/**
 * `torch.nn.functional.linear`: x @ weight^T + bias, with x [..., in], weight
 * [out, in] (stored as PyTorch stores it) and an optional bias broadcast to
 * the result [..., out] (a bias of shape [out] or a single value is added
 * inside the product). A 1-D weight [in] gives [...] (the matrix-vector
 * product). One op with its own backward: dx = g @ weight, dweight = g^T @ x
 * and dbias = g, each summed over the leading dimensions. The bias rule is
 * PyTorch's `matmul(x, weight^T) + bias` for every input rank (PyTorch 1.13's
 * fused path for 2-D and 3-D inputs instead expands the bias to the flattened
 * [rows, out] product, which accepts a few other shapes and refuses a few that
 * broadcast).
 *
 * @example
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);            // [2, 3]
 * const w = tensor([[1, 0, 0], [0, 1, 1]]);            // [2, 3]: out 2, in 3
 * linear(x, w).toArray();                               // [[1, 5], [4, 11]]
 * linear(x, w, tensor([10, 20])).toArray();             // [[11, 25], [14, 31]]
 * linear(ones([4, 7, 3]), ones([5, 3])).shape;          // [4, 7, 5]
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const fn = 'linear';
  const xt = tensorArg(x, fn, 'input'), wt = tensorArg(weight, fn, 'weight');
  const bt = bias === undefined || bias === null ? null : tensorArg(bias, fn, 'bias');
  const be = sameBackend(fn, xt, wt, ...(bt ? [bt] : []))!;
  const xs = xt.shape, ws = wt.shape;
  if (xs.length === 0 || ws.length === 0) {
    throw new ShapeError(`${fn}: input and weight need to be at least 1-D, but they are ${xs.length}-D and ${ws.length}-D (shapes ${fmtShape(xs)} and ${fmtShape(ws)})`);
  }
  if (ws.length > 2) throw new ShapeError(`${fn}: weight must be 2-D [out_features, in_features] (or 1-D [in_features]), got shape ${fmtShape(ws)}`);
  const K = xs[xs.length - 1], w1 = ws.length === 1;
  const N = w1 ? 1 : ws[0], Kw = ws[ws.length - 1];
  if (K !== Kw) {
    throw new ShapeError(`${fn}: input of shape ${fmtShape(xs)} has ${K} feature${K === 1 ? '' : 's'} but weight of shape ${fmtShape(ws)} expects ${Kw} (in_features)`);
  }
  const lead = xs.slice(0, -1);
  const outShape = w1 ? lead : [...lead, N];
  let M = 1;
  for (const d of lead) M *= d;
  if (M * N > MAX_ELEMENTS) {
    throw new RangeError(`${fn}: the output shape ${fmtShape(outShape)} has more than the 2^29 (${MAX_ELEMENTS}) elements a tensor may have`);
  }
  // The bias: inside the product when it is one value per output feature, or a
  // single value; any other shape that broadcasts to the output is added after it.
  let fused = false, bs = 0;
  let after: { shape: number[]; strides: number[][] } | null = null;
  if (bt) {
    let bc: number[] | null = null;
    try { bc = broadcastShapes(bt.shape, outShape, fn); } catch { /* refused below */ }
    if (!bc || bc.length !== outShape.length || bc.some((d, i) => d !== outShape[i])) {
      throw new ShapeError(`${fn}: bias of shape ${fmtShape(bt.shape)} cannot be added to the output of shape ${fmtShape(outShape)} (input ${fmtShape(xs)}, weight ${fmtShape(ws)})`);
    }
    const perFeature = !w1 && bt.ndim >= 1 && bt.shape[bt.ndim - 1] === N && bt.size === N;
    fused = bt.size === 1 || perFeature;
    bs = perFeature && N > 1 ? 1 : 0;
    if (!fused) after = mergeDims(outShape, [broadcastStrides(outShape, outShape), broadcastStrides(bt.shape, outShape)], fn);
  }
  const none: number[] = [];
  const y = output(outShape, fn);
  // op(A) = x as [M, K]; op(B) = weight^T, the weight read as [N][K].
  let bp: Buf | null = null;
  if (M > 0 && N > 1 && K > 0) {
    try { bp = packedWeight(be, wt, N, K, fn); } catch (e) { y.dispose(); throw e; }
  }
  runGemm(fn, be, { M, N, K, ta: false, tb: true, S: none, sa: none, sb: none, sc: none, a: xt, b: wt, c: y, bias: fused ? bt : null, bs, bp }, y);
  let out = y;
  if (bt && after) {
    try {
      out = output(outShape, fn);
      run(be, binaryK, { op: BINARY.ADD, ndim: after.shape.length, n: out.size, shape: after.shape, sa: after.strides[0], sb: after.strides[1], a: y, b: bt, y: out }, fn, out);
    } finally {
      y.dispose();
    }
  }
  const inputs = bt ? [xt, wt, bt] : [xt, wt];
  // As PyTorch, the input is kept only for the weight's gradient and the weight only for the input's.
  const gx = xt.requiresGrad, gw = wt.requiresGrad, gb = bt !== null && bt.requiresGrad;
  return record(out, fn, inputs, [...(gw ? [xt] : []), ...(gx ? [wt] : [])], (g) => {
    const bfn = `${fn} backward`;
    const grads: Array<Tensor | null> = [null, null];
    const made: Tensor[] = [];
    if (gx) {
      // dx [M, K] = g [M, N] @ weight [N, K]
      const dx = grads[0] = output(xs, bfn);
      made.push(dx);
      runGemm(bfn, be, { M, N: K, K: N, ta: false, tb: false, S: none, sa: none, sb: none, sc: none, a: g, b: wt, c: dx, bias: null, bs: 0 }, made);
    }
    if (gw) {
      // dweight [N, K] = g^T [N, M] @ x [M, K]: g read transposed in place.
      const dw = grads[1] = output(ws, bfn);
      made.push(dw);
      runGemm(bfn, be, { M: N, N: K, K: M, ta: true, tb: false, S: none, sa: none, sb: none, sc: none, a: g, b: xt, c: dw, bias: null, bs: 0 }, made);
    }
    // dbias: g summed over the dimensions the bias was broadcast along.
    if (bt) grads.push(gb ? sumTo(view(g, g.shape, g.size), bt.shape) : null);
    return grads;
  });
}
