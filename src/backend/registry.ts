/**
 * The kernel registry: every WebAssembly kernel family, declared once.
 *
 * From this file the build (scripts/build-wasm.mjs) generates the
 * AssemblyScript parameter accessors, op-code constants and export wrappers
 * (assembly/generated/); the wasm backend takes its dispatch table, thread
 * splitting and workspace sizes from it; the reference backend runs each
 * family's float64 `reference`; and the tests iterate it. Adding a family is
 * one entry here (see docs/ARCHITECTURE.md, "Adding an op").
 */
import { layout, MAXDIM, type Fields, type Kernel, type Layout } from './layout';
import * as conv from './reference/conv';
import * as ew from './reference/elementwise';
import * as red from './reference/reduce';
import * as opt from './reference/optim';
import * as act from './reference/activation';
import * as aug from './reference/augment';
import * as shp from './reference/shape_ops';
import * as smr from './reference/softmax';
import * as mm from './reference/matmul';
import * as pool from './reference/pooling';

export { CONSTANTS, ENUMS, UNARY, BINARY, REDUCE, PACK, OPT } from './constants';
import { CONSTANTS, ENUMS, PACK } from './constants';

const { CHUNK, NCOL, NCOLB, RB, CB, BB } = CONSTANTS;

const families: Kernel<Fields>[] = [];
/** Declares a kernel family and adds it to the registry, in export order. */
function kernel<F extends Fields>(k: Kernel<F>): Kernel<F> {
  const entry = Object.assign({}, k, { index: families.length });
  families.push(entry as unknown as Kernel<Fields>);
  return entry;
}
const cdiv = (a: number, b: number) => Math.ceil(a / b);
/** Elements per flop-equivalent for memory-bound kernels (so ~128K elements go parallel). */
const ELEMENT_COST = 16;

// ---------------------------------------------------------------------------
// Convolution (NCHW input, OIHW weight): one layout for every family.
// ---------------------------------------------------------------------------

/**
 * Geometry of a 2-D convolution (see `conv2dInfo`), the weight-gradient column
 * block KB, the packing mode, the frame of a lanes-layout buffer (the image at
 * row TP and column LP of HQ x WQ planes; see conv2d_pack_lanes), and the
 * buffers (each family reads some of them).
 */
export const Conv = layout('Conv', {
  N: 'i32', C: 'i32', H: 'i32', W: 'i32', O: 'i32', KH: 'i32', KW: 'i32', OH: 'i32', OW: 'i32',
  SH: 'i32', SW: 'i32', PH: 'i32', PW: 'i32', DH: 'i32', DW: 'i32', G: 'i32', KB: 'i32', mode: 'i32',
  TP: 'i32', LP: 'i32', HQ: 'i32', WQ: 'i32',
  x: 'ptr', w: 'ptr', bias: 'ptr', y: 'ptr', dy: 'ptr', dx: 'ptr', dw: 'ptr', db: 'ptr',
});
type ConvP = { N?: number; C?: number; H?: number; W?: number; O?: number; KH?: number; KW?: number; OH?: number; OW?: number;
  SH?: number; SW?: number; PH?: number; PW?: number; DH?: number; DW?: number; G?: number; KB?: number;
  TP?: number; LP?: number; HQ?: number; WQ?: number; mode?: number };
const frame = (p: ConvP) => ({ TP: p.TP!, LP: p.LP!, HQ: p.HQ!, WQ: p.WQ! });
const g0 = (p: ConvP) => ({
  N: p.N!, C: p.C!, H: p.H!, W: p.W!, O: p.O!, KH: p.KH!, KW: p.KW!, OH: p.OH!, OW: p.OW!,
  SH: p.SH!, SW: p.SW!, PH: p.PH!, PW: p.PW!, DH: p.DH!, DW: p.DW!, G: p.G!,
});
const Kg = (p: ConvP) => (p.C! / p.G!) * p.KH! * p.KW!;
/** Multiply-adds of the forward pass, times two. */
export const convFlops = (p: ConvP) => 2 * p.N! * p.O! * p.OH! * p.OW! * Kg(p);
/** Rows and columns of the zero-bordered plane the direct kernels read. */
const paddedH = (p: ConvP) => p.OH! + (p.KH! - 1) * p.DH!;
const paddedW = (p: ConvP) => p.OW! + (p.KW! - 1) * p.DW!;
const needsBorder = (p: ConvP) => p.PH !== 0 || p.PW !== 0 || paddedH(p) > p.H! || paddedW(p) > p.W!;

/** Direct forward for stride 1 and few channels per group: x, w (OIHW), bias, y. */
export const conv2dForwardDirect = kernel({
  name: 'conv2d_forward_direct', source: 'conv2d_forward', fn: 'forwardDirect', simd: true, layout: Conv,
  units: (p) => p.N! * p.O! * cdiv(p.OH!, RB),
  workspace: (p) => (needsBorder(p) ? (p.C! / p.G!) * (Math.min(RB, p.OH!) + (p.KH! - 1) * p.DH!) * paddedW(p) : 0),
  cost: convFlops,
  reference: (p) => conv.conv2dForwardRef(g0(p), p.x!, p.w!, p.bias, p.y!),
});

/** Implicit-GEMM forward: x, w packed (PACK.FORWARD), bias, y. */
export const conv2dForwardGemm = kernel({
  name: 'conv2d_forward_gemm', source: 'conv2d_forward', fn: 'forwardGemm', simd: true, layout: Conv,
  units: (p) => p.N! * p.G! * cdiv(p.OH! * p.OW!, NCOL),
  workspace: (p) => Kg(p) * NCOL,
  cost: convFlops,
  reference: (p) => conv.conv2dForwardRef(g0(p), p.x!, conv.unpack(g0(p), PACK.FORWARD, p.w!), p.bias, p.y!),
});

/** Input gradient as a GEMM with the transposed weight, then col2im: dy, w packed (PACK.TRANSPOSED), dx. */
export const conv2dBackwardInputGemm = kernel({
  name: 'conv2d_backward_input_gemm', source: 'conv2d_backward_input', fn: 'backwardInputGemm', simd: true, layout: Conv,
  units: (p) => p.N! * p.G! * cdiv(p.C! / p.G!, CB),
  workspace: (p) => (Math.ceil((CB * p.KH! * p.KW!) / 4) * 4 + p.O! / p.G!) * NCOLB,
  cost: convFlops,
  reference: (p) => conv.conv2dBackwardInputRef(g0(p), p.dy!, conv.unpack(g0(p), PACK.TRANSPOSED, p.w!), p.dx!),
});

/** Weight gradient as dot products of im2col rows with dy rows: x, dy, dw. KB columns per unit. */
export const conv2dBackwardWeightGemm = kernel({
  name: 'conv2d_backward_weight_gemm', source: 'conv2d_backward_weight', fn: 'backwardWeightGemm', simd: true, layout: Conv,
  units: (p) => p.G! * cdiv(Kg(p), p.KB!),
  workspace: (p) => p.KB! * (Math.ceil((p.OH! * p.OW!) / 4) * 4 + 16),
  cost: convFlops,
  reference: (p) => conv.conv2dBackwardWeightRef(g0(p), p.x!, p.dy!, p.dw!),
});

/** Weight gradient for stride 1, 3x3 tap blocks: x, dy, dw. */
export const conv2dBackwardWeightDirect = kernel({
  name: 'conv2d_backward_weight_direct', source: 'conv2d_backward_weight', fn: 'backwardWeightDirect', simd: true, layout: Conv,
  units: (p) => p.O! * (p.C! / p.G!) * cdiv(p.KH!, 3) * cdiv(p.KW!, 3),
  workspace: (p) => (needsBorder(p) ? paddedH(p) * paddedW(p) : 0),
  cost: convFlops,
  reference: (p) => conv.conv2dBackwardWeightRef(g0(p), p.x!, p.dy!, p.dw!),
});

/**
 * Forward for stride 1 with four samples in the vector lanes: x in the lanes
 * layout (frame TP, LP, HQ, WQ), w packed (PACK.FORWARD), bias, y (NCHW). mode 0: every tap,
 * the padding taking part; mode 1: only the taps that read the input (the
 * input gradient as a correlation of the padded output gradient).
 */
export const conv2dForwardLanes = kernel({
  name: 'conv2d_forward_lanes', source: 'conv2d_forward', fn: 'forwardLanes', simd: true, layout: Conv,
  units: (p) => cdiv(p.N!, 4) * p.OH!,
  workspace: () => 0,
  cost: convFlops,
  reference: (p) => conv.conv2dForwardRef(g0(p), conv.unpackLanes(p.N!, p.C!, p.H!, p.W!, frame(p), p.x!), conv.unpack(g0(p), PACK.FORWARD, p.w!), p.bias, p.y!),
});

/** Output channels and taps of a lanes weight-gradient block: 4 x 2 when a group's channels are a multiple of four, else 2 x 4. */
const lanesBlock = (p: ConvP) => ((p.O! / p.G!) % 4 === 0 ? [4, 2] : [2, 4]);
/** Blocks of the lanes weight-gradient kernel per (group, output-channel block, input channel). */
export const lanesWeightBlocks = (p: ConvP): number => cdiv(p.KH! * p.KW!, lanesBlock(p)[1]);

/**
 * Weight gradient for stride 1 with four samples in the vector lanes: x in the
 * planar lanes layout (frame TP, LP, HQ, WQ, every tap inside), dy in the
 * planar lanes layout with frame (0, 3, OH, OW + 6), dw, and db or null (the
 * bias gradient from the same dy). KB blocks of (output channels by taps) per unit.
 */
export const conv2dBackwardWeightLanes = kernel({
  name: 'conv2d_backward_weight_lanes', source: 'conv2d_backward_weight', fn: 'backwardWeightLanes', simd: true, layout: Conv,
  units: (p) => p.G! * cdiv(p.O! / p.G!, lanesBlock(p)[0]) * (p.C! / p.G!) * cdiv(lanesWeightBlocks(p), p.KB!),
  workspace: (p) => p.KB! * 32 + 16,
  cost: convFlops,
  reference: (p) => {
    const dy = conv.unpackLanes(p.N!, p.O!, p.OH!, p.OW!, { TP: 0, LP: 3, HQ: p.OH!, WQ: p.OW! + 6 }, p.dy!);
    conv.conv2dBackwardWeightRef(g0(p), conv.unpackLanes(p.N!, p.C!, p.H!, p.W!, frame(p), p.x!), dy, p.dw!);
    if (p.db) conv.conv2dBackwardBiasRef(g0(p), dy, p.db);
  },
});

/**
 * An NCHW tensor x (N, C, H, W) into a lanes layout: y. mode 0: planar, in the
 * frame (TP, LP, HQ, WQ); mode 1: interleaved (see assembly/conv2d_pack.ts).
 */
export const conv2dPackLanes = kernel({
  name: 'conv2d_pack_lanes', source: 'conv2d_pack', fn: 'packLanes', simd: true, layout: Conv,
  units: (p) => cdiv(p.N!, 4) * p.C!,
  workspace: () => 0,
  cost: (p) => cdiv(p.N!, 4) * 4 * p.C! * (p.mode ? p.H! * p.W! : p.HQ! * p.WQ!) * ELEMENT_COST,
  reference: (p) => conv.packLanes(p.N!, p.C!, p.H!, p.W!, p.mode ? null : frame(p), p.x!, p.y!),
});

/** Bias gradient: dy, db. */
export const conv2dBackwardBias = kernel({
  name: 'conv2d_backward_bias', source: 'conv2d_backward_bias', fn: 'backwardBias', simd: true, layout: Conv,
  units: (p) => p.O!,
  workspace: () => 0,
  cost: (p) => p.N! * p.O! * p.OH! * p.OW! * 2,
  reference: (p) => conv.conv2dBackwardBiasRef(g0(p), p.dy!, p.db!),
});

/** A weight in the layout `mode` (PACK): w (OIHW) into y. */
export const conv2dPack = kernel({
  name: 'conv2d_pack', source: 'conv2d_pack', fn: 'pack', simd: false, layout: Conv,
  units: (p) => p.G!,
  workspace: () => 0,
  cost: () => 0,
  reference: (p) => conv.pack(g0(p), p.mode, p.w!, p.y!),
});

// ---------------------------------------------------------------------------
// Element-wise, reductions, copies
// ---------------------------------------------------------------------------

/** y = f(x) over n contiguous elements (op in UNARY; scalars s0, s1); x and y may be one block. */
export const Unary = layout('Unary', { n: 'i32', op: 'i32', s0: 'f32', s1: 'f32', x: 'ptr', y: 'ptr' });
export const unary = kernel({
  name: 'unary', source: 'elementwise', fn: 'unary', simd: true, layout: Unary,
  units: (p) => cdiv(p.n!, CHUNK),
  workspace: () => 0,
  cost: (p) => p.n! * ELEMENT_COST,
  reference: ew.unaryRef,
});

/**
 * y = f(a, b) with broadcasting, given as strides: out shape `shape` (ndim
 * dims), element strides sa and sb (0 where broadcast); y contiguous.
 */
export const Binary = layout('Binary', {
  op: 'i32', ndim: 'i32', n: 'i32', s0: 'f32', s1: 'f32', shape: 'dims', sa: 'dims', sb: 'dims', a: 'ptr', b: 'ptr', y: 'ptr',
});
export const binary = kernel({
  name: 'binary', source: 'elementwise', fn: 'binary', simd: true, layout: Binary,
  units: (p) => cdiv(p.n!, CHUNK),
  workspace: () => MAXDIM,
  cost: (p) => p.n! * ELEMENT_COST,
  reference: ew.binaryRef,
});

/**
 * Reduction over the middle axis of [A, R, B] (op in REDUCE, results divided by
 * `divisor`), in fixed chunks of RC along R: y is [A, ceil(R/RC), B], yi its
 * first indices (or null); xi, when given, holds the indices of partial results.
 */
export const Reduce = layout('Reduce', {
  op: 'i32', A: 'i32', R: 'i32', B: 'i32', RC: 'i32', divisor: 'f32', x: 'ptr', xi: 'ptr', y: 'ptr', yi: 'ptr',
});
export const reduce = kernel({
  name: 'reduce', source: 'reduce', fn: 'reduce', simd: true, layout: Reduce,
  units: (p) => p.A! * cdiv(p.R!, p.RC!) * cdiv(p.B!, BB),
  workspace: () => 0,
  cost: (p) => p.A! * p.R! * p.B! * (ELEMENT_COST / 2),
  reference: red.reduceRef,
});

/** y (contiguous, shape `shape`) = x read with element strides `st`. */
export const Permute = layout('Permute', { ndim: 'i32', n: 'i32', shape: 'dims', st: 'dims', x: 'ptr', y: 'ptr' });
export const permute = kernel({
  name: 'permute', source: 'permute', fn: 'permute', simd: true, layout: Permute,
  units: (p) => cdiv(p.n!, CHUNK),
  workspace: () => MAXDIM,
  cost: (p) => p.n! * ELEMENT_COST,
  reference: ew.permuteRef,
});

/** softplus (backward 0) or its gradient for g (backward 1), over n contiguous elements. */
export const Softplus = layout('Softplus', { n: 'i32', beta: 'f32', threshold: 'f32', backward: 'i32', x: 'ptr', g: 'ptr', y: 'ptr' });
export const softplus = kernel({
  name: 'softplus', source: 'softplus', fn: 'softplus', simd: true, layout: Softplus,
  units: (p) => cdiv(p.n!, CHUNK),
  workspace: () => 0,
  cost: (p) => p.n! * ELEMENT_COST * 4,
  reference: act.softplusRef,
});

// ---------------------------------------------------------------------------
// Optimizers
// ---------------------------------------------------------------------------

/** One SGD step over n elements (flags in OPT; scalars already rounded to float32). */
export const Sgd = layout('Sgd', {
  n: 'i32', flags: 'i32', negLr: 'f32', momentum: 'f32', dampening1: 'f32', wd: 'f32', param: 'ptr', grad: 'ptr', buf: 'ptr',
});
export const sgd = kernel({
  name: 'sgd', source: 'optim', fn: 'sgd', simd: true, layout: Sgd,
  units: (p) => cdiv(p.n!, CHUNK),
  workspace: () => 0,
  cost: (p) => p.n! * ELEMENT_COST,
  reference: opt.sgdRef,
});

/** One Adam or AdamW step over n elements. */
export const Adam = layout('Adam', {
  n: 'i32', flags: 'i32', beta1: 'f32', oneMinusBeta1: 'f32', beta2: 'f32', oneMinusBeta2: 'f32', wd: 'f32', decay: 'f32',
  eps: 'f32', bc2sqrt: 'f32', negStep: 'f32', param: 'ptr', grad: 'ptr', m: 'ptr', v: 'ptr', vmax: 'ptr',
});
export const adam = kernel({
  name: 'adam', source: 'optim', fn: 'adam', simd: true, layout: Adam,
  units: (p) => cdiv(p.n!, CHUNK),
  workspace: () => 0,
  cost: (p) => p.n! * ELEMENT_COST * 2,
  reference: opt.adamRef,
});

// ---------------------------------------------------------------------------
// Copies along one axis (cat, stack, narrow, select, slice, index_select) and
// the squared deviations of var and std
// ---------------------------------------------------------------------------

/**
 * `rows` runs of `cols` floats from x (row stride xs) into y (row stride ys),
 * each destination row of `dcols` floats written whole: the run at column
 * `at`, zeros around it. Units: row blocks of `rpu` rows times column chunks
 * of `cpu` floats of the destination rows.
 */
export const RowCopy = layout('RowCopy', {
  rows: 'i32', cols: 'i32', xs: 'i32', ys: 'i32', dcols: 'i32', at: 'i32', rpu: 'i32', cpu: 'i32', x: 'ptr', y: 'ptr',
});
export const rowCopy = kernel({
  name: 'row_copy', source: 'row_copy', fn: 'rowCopy', simd: true, layout: RowCopy,
  units: (p) => cdiv(p.rows!, p.rpu!) * cdiv(p.dcols!, p.cpu!),
  workspace: () => 0,
  cost: (p) => p.rows! * p.dcols! * ELEMENT_COST,
  reference: shp.rowCopyRef,
});

/**
 * index_select over the middle axis of x [A, R, B] with N indices (whole
 * numbers as floats) into y [A, N, B] (backward 0), or its gradient: x the
 * incoming gradient [A, N, B], y the input's gradient [A, R, B] (backward 1).
 * Units: blocks of `rpu` rows (output rows forward; gradient rows of one a
 * backward) times column chunks of `cpu` floats.
 */
export const IndexSelect = layout('IndexSelect', {
  backward: 'i32', A: 'i32', R: 'i32', B: 'i32', N: 'i32', rpu: 'i32', cpu: 'i32', x: 'ptr', idx: 'ptr', y: 'ptr',
});
export const indexSelect = kernel({
  name: 'index_select', source: 'index_select', fn: 'indexSelect', simd: true, layout: IndexSelect,
  units: (p) => (p.backward ? p.A! * cdiv(p.R!, p.rpu!) : cdiv(p.A! * p.N!, p.rpu!)) * cdiv(p.B!, p.cpu!),
  workspace: () => 0,
  cost: (p) => (p.backward ? p.A! * (p.R! + p.N!) * p.B! + p.A! * p.N! * cdiv(p.R!, p.rpu!) * cdiv(p.B!, p.cpu!) : p.A! * p.N! * p.B!) * ELEMENT_COST,
  reference: shp.indexSelectRef,
});

/**
 * Sums of squared deviations (var and std): y[a, c, b] = the sum over r in
 * chunk c (RC long) of (x[a, r, b] - m[a, b])^2, for x [A, R, B] and the
 * means m [A, B]; y is [A, ceil(R / RC), B]. Units as the reduce family's.
 */
export const SqDev = layout('SqDev', { A: 'i32', R: 'i32', B: 'i32', RC: 'i32', x: 'ptr', m: 'ptr', y: 'ptr' });
export const sqDev = kernel({
  name: 'sq_dev', source: 'moments', fn: 'sqDev', simd: true, layout: SqDev,
  units: (p) => p.A! * cdiv(p.R!, p.RC!) * cdiv(p.B!, BB),
  workspace: () => 0,
  cost: (p) => p.A! * p.R! * p.B! * ELEMENT_COST,
  reference: shp.sqDevRef,
});

// ---------------------------------------------------------------------------
// Data augmentation
// ---------------------------------------------------------------------------

/** A batch's per-sample crop of the zero-padded images and horizontal flip (offsets [N, 3]: dy, dx, flip). */
export const Augment = layout('Augment', {
  N: 'i32', C: 'i32', H: 'i32', W: 'i32', OH: 'i32', OW: 'i32', pad: 'i32', x: 'ptr', offsets: 'ptr', y: 'ptr',
});
export const cropFlip = kernel({
  name: 'crop_flip', source: 'augment', fn: 'cropFlip', simd: false, layout: Augment,
  units: (p) => p.N! * p.C!,
  workspace: () => 0,
  cost: (p) => p.N! * p.C! * p.OH! * p.OW! * ELEMENT_COST,
  reference: aug.cropFlipRef,
});

// ---------------------------------------------------------------------------
// Softmax, selection by condition and by index, negative log-likelihood
// ---------------------------------------------------------------------------

/**
 * softmax (log 0) or log_softmax (log 1) over the middle axis of a contiguous
 * [A, R, B] array, x into y; with backward 1, the gradient y for the incoming
 * gradient g, x being the forward's output. Units: rows (B = 1) or blocks of
 * BB columns of each [R, B] slab; each owns its outputs and sums over R in a
 * fixed order.
 */
export const Softmax = layout('Softmax', { A: 'i32', R: 'i32', B: 'i32', log: 'i32', backward: 'i32', x: 'ptr', g: 'ptr', y: 'ptr' });
export const softmax = kernel({
  name: 'softmax', source: 'softmax', fn: 'softmax', simd: true, layout: Softmax,
  units: (p) => p.A! * cdiv(p.B!, BB),
  workspace: () => 0,
  cost: (p) => p.A! * p.R! * p.B! * ELEMENT_COST * 4,
  reference: smr.softmaxRef,
});

/**
 * y = c != 0 ? a : b with broadcasting, as strides in y's index space (like
 * Binary); a (flags bit 1) or b (bit 2) may be the scalar s0 or s1 instead.
 */
export const Where = layout('Where', {
  ndim: 'i32', n: 'i32', flags: 'i32', s0: 'f32', s1: 'f32', shape: 'dims', sc: 'dims', sa: 'dims', sb: 'dims',
  c: 'ptr', a: 'ptr', b: 'ptr', y: 'ptr',
});
export const where = kernel({
  name: 'where', source: 'where', fn: 'where', simd: true, layout: Where,
  units: (p) => cdiv(p.n!, CHUNK),
  workspace: () => MAXDIM,
  cost: (p) => p.n! * ELEMENT_COST,
  reference: smr.whereRef,
});

/**
 * Finds values among n that are not whole numbers in [0, hi) (nor, with
 * useIgnore, equal to `ignore`): y[u] = the offset in chunk u of the first, or -1.
 */
export const IndexCheck = layout('IndexCheck', { n: 'i32', hi: 'i32', useIgnore: 'i32', ignore: 'f32', x: 'ptr', y: 'ptr' });
export const indexCheck = kernel({
  name: 'index_check', source: 'indexing', fn: 'indexCheck', simd: true, layout: IndexCheck,
  units: (p) => cdiv(p.n!, CHUNK),
  workspace: () => 0,
  cost: (p) => p.n! * (ELEMENT_COST / 2),
  reference: smr.indexCheckRef,
});

/**
 * torch.gather along one dimension (stride sd in x), index values in idx.
 * Forward (backward 0): y[i] = x[offset(i) + idx[i] * sd] over the n elements of
 * the index space (shape, x strides st with 0 on the gathered dimension); units:
 * chunks of CHUNK. Backward (backward 1): y += g scattered back, over n lines
 * of J elements (line space shape, x strides st, index strides sg; sj the
 * index stride along the line): a line owns its outputs and adds in order.
 */
export const Gather = layout('Gather', {
  backward: 'i32', ndim: 'i32', n: 'i32', J: 'i32', sj: 'i32', sd: 'i32', shape: 'dims', st: 'dims', sg: 'dims',
  x: 'ptr', idx: 'ptr', g: 'ptr', y: 'ptr',
});
export const gather = kernel({
  name: 'gather', source: 'indexing', fn: 'gather', simd: false, layout: Gather,
  units: (p) => (p.backward ? p.n! : cdiv(p.n!, CHUNK)),
  workspace: () => MAXDIM,
  cost: (p) => (p.backward ? p.n! * p.J! : p.n!) * ELEMENT_COST,
  reference: smr.gatherRef,
});

/** y[i, c] = (c == idx[i]) over n labels and C classes; K labels per unit. */
export const OneHot = layout('OneHot', { n: 'i32', C: 'i32', K: 'i32', idx: 'ptr', y: 'ptr' });
export const oneHot = kernel({
  name: 'one_hot', source: 'indexing', fn: 'oneHot', simd: true, layout: OneHot,
  units: (p) => cdiv(p.n!, p.K!),
  workspace: () => 0,
  cost: (p) => p.n! * p.C! * (ELEMENT_COST / 2),
  reference: smr.oneHotRef,
});

/**
 * Negative log-likelihood over x [A, C, B] (log-probabilities, or logits for
 * the cross-entropy gradient) with targets t [A, B] (class indices, or with
 * prob 1 probabilities [A, C, B]), optional class weights w [C], label
 * smoothing eps and the ignored class `ignore`. red: 0 none, 1 sum, 2 mean.
 * Elements are cut in fixed chunks of MC; see assembly/nll.ts.
 */
export const Nll = layout('Nll', {
  A: 'i32', C: 'i32', B: 'i32', MC: 'i32', red: 'i32', finish: 'i32', prob: 'i32', ce: 'i32',
  eps: 'f32', ignore: 'f32', wsum: 'f32', x: 'ptr', t: 'ptr', w: 'ptr', g: 'ptr', y: 'ptr', part: 'ptr', dt: 'ptr',
});
/** Forward: per-element losses (red 0), or per-chunk sums into part and the reduced loss into y. */
export const nll = kernel({
  name: 'nll', source: 'nll', fn: 'nll', simd: false, layout: Nll,
  units: (p) => (p.finish ? 1 : cdiv(p.A! * p.B!, p.MC!)),
  workspace: () => 0,
  cost: (p) => (p.finish ? 0 : p.A! * p.B! * (p.eps || p.prob ? p.C! : 1) * ELEMENT_COST),
  reference: smr.nllRef,
});
/** Backward: the gradient for log-probabilities (ce 0) or, from the logits, for cross-entropy (ce 1). */
export const nllBackward = kernel({
  name: 'nll_backward', source: 'nll', fn: 'nllBackward', simd: true, layout: Nll,
  units: (p) => cdiv(p.A! * p.B!, p.MC!),
  workspace: () => 0,
  cost: (p) => p.A! * p.B! * p.C! * ELEMENT_COST * (p.ce ? 4 : 1),
  reference: smr.nllBackwardRef,
});

// ---------------------------------------------------------------------------
// Matrix products (matmul, linear)
// ---------------------------------------------------------------------------

/**
 * Batched C = init + sum over reduction batches of op(A) @ op(B) (see
 * assembly/matmul.ts): op(A) M x K (A stored [K][M] when ta), op(B) K x N
 * (B stored [N][K] when tb); output batches bshape with element strides bsa,
 * bsb, bsc (0 where broadcast), reduction batches rshape with strides rsa, rsb;
 * init = bias[j * bs] or 0; units of MB rows by NB columns, k packed KC at a time.
 * bp, when not null, is op(B) already packed by gemm_pack_b (no batches): the
 * kernel reads its panels instead of packing b (the reference reads b).
 */
export const Gemm = layout('Gemm', {
  M: 'i32', N: 'i32', K: 'i32', ta: 'i32', tb: 'i32', MB: 'i32', NB: 'i32', KC: 'i32',
  nb: 'i32', bdim: 'i32', nr: 'i32', rdim: 'i32', bs: 'i32',
  bshape: 'dims', bsa: 'dims', bsb: 'dims', bsc: 'dims', rshape: 'dims', rsa: 'dims', rsb: 'dims',
  a: 'ptr', b: 'ptr', bias: 'ptr', c: 'ptr', bp: 'ptr',
});
export const gemm = kernel({
  name: 'gemm', source: 'matmul', fn: 'gemm', simd: true, layout: Gemm,
  units: (p) => p.nb! * cdiv(p.M!, p.MB!) * cdiv(p.N!, p.NB!),
  workspace: (p) => (p.MB! + p.NB!) * p.KC! + 16 * (p.MB! / 4 + p.NB! / 8) + 40,
  cost: (p) => 2 * p.M! * p.N! * p.K! * p.nb! * Math.max(p.nr!, 1) + p.M! * p.N! * p.nb! * ELEMENT_COST,
  reference: mm.gemmRef,
});

/**
 * op(B) (N, K, tb, b) packed whole for gemm's bp into c: panel u holds columns
 * 8u..8u+7 as [K][8] (zeros past N) and starts u * (K * 8 + 16) floats into c.
 * Units: ceil(N / 8) panels.
 */
export const gemmPackB = kernel({
  name: 'gemm_pack_b', source: 'matmul', fn: 'gemmPackB', simd: true, layout: Gemm,
  units: (p) => cdiv(p.N!, 8),
  workspace: () => 0,
  cost: (p) => p.N! * p.K! * ELEMENT_COST,
  reference: mm.gemmPackBRef,
});
/** Floats of op(B) packed by gemm_pack_b. */
export const gemmPackedLength = (N: number, K: number): number => cdiv(N, 8) * (K * 8 + 16);

// ---------------------------------------------------------------------------
// Pooling and padding (NCHW planes: P = N * C)
// ---------------------------------------------------------------------------

/**
 * Geometry of a 2-D pooling over P planes of H x W into OH x OW (kernel, stride,
 * padding, dilation), average-pooling options (`include`: countIncludePad; `div`:
 * divisorOverride, 0 for none), RB rows per work unit (output rows forward,
 * input rows backward), and the buffers.
 */
export const Pool = layout('Pool', {
  P: 'i32', H: 'i32', W: 'i32', OH: 'i32', OW: 'i32', KH: 'i32', KW: 'i32', SH: 'i32', SW: 'i32', PH: 'i32', PW: 'i32',
  DH: 'i32', DW: 'i32', include: 'i32', div: 'i32', RB: 'i32', x: 'ptr', y: 'ptr', idx: 'ptr', flat: 'ptr', dy: 'ptr', dx: 'ptr',
});
type PoolQ = { P?: number; H?: number; W?: number; OH?: number; OW?: number; KH?: number; KW?: number; RB?: number };
/** Flop-equivalents of a pooling pass: the taps read and the outputs written. */
const poolCost = (p: PoolQ) => p.P! * p.OH! * p.OW! * (p.KH! * p.KW! + 1) * 8;
/** Of a gradient pass: the input gradient zeroed and the outputs scattered. */
const poolGradCost = (p: PoolQ) => p.P! * (p.H! * p.W! + p.OH! * p.OW! * 2) * (ELEMENT_COST / 2);

/** Max pooling: x into y, with each output's tap index in idx and PyTorch's flat index in flat (each when given). */
export const maxPool2d = kernel({
  name: 'max_pool2d', source: 'pooling', fn: 'maxPool', simd: true, layout: Pool,
  units: (p) => p.P! * cdiv(p.OH!, p.RB!),
  workspace: () => 0,
  cost: poolCost,
  reference: pool.maxPoolRef,
});

/** Gradient of max pooling: dy and the tap indices idx into dx. */
export const maxPool2dBackward = kernel({
  name: 'max_pool2d_backward', source: 'pooling', fn: 'maxPoolBackward', simd: true, layout: Pool,
  units: (p) => p.P! * cdiv(p.H!, p.RB!),
  workspace: () => 0,
  cost: poolGradCost,
  reference: pool.maxPoolBackwardRef,
});

/** Average pooling: x into y. */
export const avgPool2d = kernel({
  name: 'avg_pool2d', source: 'pooling', fn: 'avgPool', simd: true, layout: Pool,
  units: (p) => p.P! * cdiv(p.OH!, p.RB!),
  workspace: () => 0,
  cost: poolCost,
  reference: pool.avgPoolRef,
});

/** Gradient of average pooling: dy into dx (workspace: one row of output gradients). */
export const avgPool2dBackward = kernel({
  name: 'avg_pool2d_backward', source: 'pooling', fn: 'avgPoolBackward', simd: true, layout: Pool,
  units: (p) => p.P! * cdiv(p.H!, p.RB!),
  workspace: (p) => p.OW! + 4,
  cost: poolGradCost,
  reference: pool.avgPoolBackwardRef,
});

/** Adaptive average pooling: x into y (windows of variable size: scalar). */
export const adaptiveAvgPool2d = kernel({
  name: 'adaptive_avg_pool2d', source: 'pooling', fn: 'adaptiveAvgPool', simd: false, layout: Pool,
  units: (p) => p.P! * cdiv(p.OH!, p.RB!),
  workspace: () => 0,
  cost: (p) => p.P! * (p.H! * p.W! + p.OH! * p.OW!) * 8,
  reference: pool.adaptiveAvgPoolRef,
});

/** Gradient of adaptive average pooling: dy into dx. */
export const adaptiveAvgPool2dBackward = kernel({
  name: 'adaptive_avg_pool2d_backward', source: 'pooling', fn: 'adaptiveAvgPoolBackward', simd: false, layout: Pool,
  units: (p) => p.P! * cdiv(p.H!, p.RB!),
  workspace: () => 0,
  cost: poolGradCost,
  reference: pool.adaptiveAvgPoolBackwardRef,
});

/**
 * Padding of the last three dimensions of P planes, (D, H, W) into (OD, OH, OW),
 * with left paddings PD, PT, PL (negative: cropped) in mode (PAD) with the
 * constant value; RB rows (d, h) per work unit (output rows forward, input rows backward).
 */
export const Pad = layout('Pad', {
  P: 'i32', D: 'i32', H: 'i32', W: 'i32', OD: 'i32', OH: 'i32', OW: 'i32', PD: 'i32', PT: 'i32', PL: 'i32',
  mode: 'i32', value: 'f32', RB: 'i32', x: 'ptr', y: 'ptr', dy: 'ptr', dx: 'ptr',
});

/** pad: x into y. */
export const pad = kernel({
  name: 'pad', source: 'pad', fn: 'pad', simd: true, layout: Pad,
  units: (p) => p.P! * cdiv(p.OD! * p.OH!, p.RB!),
  workspace: () => 0,
  cost: (p) => p.P! * p.OD! * p.OH! * p.OW! * ELEMENT_COST,
  reference: pool.padRef,
});

/** Gradient of pad: dy into dx (workspace: the source runs of a row, 12 i32). */
export const padBackward = kernel({
  name: 'pad_backward', source: 'pad', fn: 'padBackward', simd: true, layout: Pad,
  units: (p) => p.P! * cdiv(p.D! * p.H!, p.RB!),
  workspace: () => 12,
  cost: (p) => p.P! * (p.OD! * p.OH! * p.OW! + p.D! * p.H! * p.W!) * ELEMENT_COST,
  reference: pool.padBackwardRef,
});

/** Every kernel family, in declaration order: the build, the backends and the tests iterate it. */
export const KERNELS: readonly Kernel<Fields>[] = families;

/** Every layout the kernels use (each generated once). */
export const LAYOUTS: readonly Layout<Fields>[] = [...new Set(families.map((k) => k.layout as Layout<Fields>))];

/**
 * Every constant, op code and layout offset as [label, value], in the order the
 * generated `abi(i)` export returns them: the loader compares a build with it,
 * so a build made from another version of this registry is refused.
 */
export function abiTable(): Array<[string, number]> {
  const t: Array<[string, number]> = [];
  for (const [k, v] of Object.entries(CONSTANTS)) t.push([k, v]);
  for (const [e, members] of Object.entries(ENUMS)) for (const [k, v] of Object.entries(members)) t.push([`${e}_${k}`, v]);
  for (const l of LAYOUTS) for (const f of Object.keys(l.fields)) t.push([`${l.name}.${f}`, l.offsets[f]]);
  return t;
}
