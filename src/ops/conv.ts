import type { Backend, ConvGeometry } from '../backend/backend';
import type { Buf } from '../backend/layout';
import {
  PACK, lanesWeightBlocks, conv2dBackwardBias, conv2dBackwardInputGemm, conv2dBackwardWeightDirect, conv2dBackwardWeightGemm,
  conv2dBackwardWeightLanes, conv2dForwardDirect, conv2dForwardGemm, conv2dForwardLanes, conv2dPack, conv2dPackLanes,
} from '../backend/registry';
import { describe, isGradEnabled } from '../engine';
import { ShapeError, fmtShape } from '../errors';
import type { Tensor } from '../tensor';
import { conv2dInfo, type Conv2dOptions } from './conv_info';
import { derived, output, record, run, sameBackend, tensorArg } from './op';
import { padForward, padGeometry, padGradient } from './pad_core';

/** Options of `conv2d`: `torch.nn.functional.conv2d`'s, with the bias among them. */
export interface Conv2dArgs extends Conv2dOptions {
  /** Shape [out_channels]. */
  bias?: Tensor | null;
  /**
   * How the input is padded, as torch.nn.Conv2d's padding_mode: 'zeros'
   * (default), or padded by `pad` in mode 'reflect', 'replicate' or 'circular'.
   */
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

/**
 * Whether a convolution runs on the lanes kernels (four samples in the vector
 * lanes): stride 1, a batch of at least four, few channels per group and small
 * output planes (at most LANES_PLANE outputs), where the GEMM tiles' im2col and
 * edges and the direct kernels' per-row work cost more than the products
 * (LeNet's layers: 3x faster forward and backward than the GEMM path). On larger
 * planes the direct and GEMM kernels are faster (a depthwise 3x3 layer on 56x56
 * planes: 1.3 ms forward on them against 2.5 ms on the lanes kernels). Their
 * register blocks (four output channels by two columns, or two output channels
 * by five taps) need no tile edges but the batch's.
 */
export function useLanes(g: ConvGeometry): boolean {
  return g.SH === 1 && g.SW === 1 && g.N >= 4 && g.C / g.G <= 16 && g.O / g.G <= 32 && g.OH * g.OW <= LANES_PLANE;
}
/** Largest output plane (OH * OW) of the lanes kernels: 32 x 32. */
const LANES_PLANE = 1024;

/**
 * The forward kernel for a shape: lanes (see useLanes); direct for stride 1 with
 * few output channels per group (the chapter's corr2d, image filters,
 * depthwise), where a 4-row GEMM tile would be mostly empty; packed GEMM otherwise.
 */
export function chooseForward(g: ConvGeometry): typeof conv2dForwardDirect {
  if (useLanes(g)) return conv2dForwardLanes;
  return g.SH === 1 && g.SW === 1 && g.O / g.G < 4 && g.C / g.G <= 8 ? conv2dForwardDirect : conv2dForwardGemm;
}

/** The weight-gradient kernel for a shape: lanes, or direct where the forward pass is. */
export function chooseBackwardWeight(g: ConvGeometry): typeof conv2dBackwardWeightDirect {
  if (useLanes(g)) return conv2dBackwardWeightLanes;
  return chooseForward(g) === conv2dForwardDirect ? conv2dBackwardWeightDirect : conv2dBackwardWeightGemm;
}

/** The frame of a lanes-layout buffer (conv2d_pack_lanes): the image at row TP, column LP of HQ x WQ planes. */
interface Frame { TP: number; LP: number; HQ: number; WQ: number }

/**
 * The input's frame for the forward and weight-gradient lanes kernels: the zero
 * padding around it and every tap of a multiple of four output columns inside.
 */
function inputFrame(g: ConvGeometry): Frame {
  const OW4 = Math.ceil(g.OW / 4) * 4;
  return {
    TP: g.PH, LP: g.PW,
    HQ: Math.max(g.PH + g.H, g.OH + (g.KH - 1) * g.DH),
    WQ: Math.max(g.PW + g.W, OW4 + (g.KW - 1) * g.DW),
  };
}

/** The output gradient's frame: three zero columns each side (the transposed correlation reads up to three past a block of columns). */
const gradFrame = (g: ConvGeometry): Frame => ({ TP: 0, LP: 3, HQ: g.OH, WQ: g.OW + 6 });

/** t (N, C, H, W) in the planar lanes layout with frame f, or the interleaved one when f is null: a new 1-D tensor the caller disposes. */
function packLanes(be: Backend, t: Tensor, N: number, C: number, H: number, W: number, f: Frame | null, fn: string): Tensor {
  const y = output([Math.ceil(N / 4) * 4 * C * (f ? f.HQ * f.WQ : H * W)], fn);
  const g = { N, C, H, W, O: 0, KH: 1, KW: 1, OH: 0, OW: 0, SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1, G: 1 };
  run(be, conv2dPackLanes, params(g, { x: t, y, mode: f ? 0 : 1, ...(f ?? {}) }), fn, y);
  return y;
}

/**
 * x (N, C, H, W) in the planar lanes layout with frame f, derived from x's
 * storage and cached there (keyed by where x starts, its shape, the frame and
 * the build), so that the weight gradient reads the copy the forward pass made;
 * the storage rebuilds it when x changed and frees it with itself.
 */
function packedInput(be: Backend, x: Tensor, g: ConvGeometry, f: Frame, fn: string): Buf {
  const key = `conv2d/lanes/${x.offset}/${g.N},${g.C},${g.H},${g.W}/${f.TP},${f.LP},${f.HQ},${f.WQ}/${be.build}`;
  const floats = Math.ceil(g.N / 4) * 4 * g.C * f.HQ * f.WQ;
  const pg = { N: g.N, C: g.C, H: g.H, W: g.W, O: 0, KH: 1, KW: 1, OH: 0, OW: 0, SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1, G: 1 };
  return derived(x, key, floats, (dst) => run(be, conv2dPackLanes, params(pg, { x, y: dst, mode: 0, ...f }), fn, []), `input ${fmtShape(x.shape)}`, fn);
}

/**
 * Blocks per unit of the lanes weight-gradient kernel: as many as keep at
 * least 12 units (so two threads split them evenly), each unit doing all its
 * blocks on one sample group while that group's planes are in cache.
 */
function lanesWeightGroup(g: ConvGeometry): number {
  const p = params(g, { KB: 1 });
  const perBlock = conv2dBackwardWeightLanes.units(p) / lanesWeightBlocks(p); // units with one group of all blocks
  return Math.ceil(lanesWeightBlocks(p) / Math.ceil(12 / perBlock));
}

/** Weight columns per backward-weight unit: 8, or 2 when that would leave fewer than 8 units. */
export const weightBlock = (g: ConvGeometry): number => (g.G * Math.ceil(((g.C / g.G) * g.KH * g.KW) / 8) >= 8 ? 8 : 2);

/**
 * The input gradient of a stride-1 convolution is itself a stride-1 correlation:
 * of the output gradient, padded by d*(k-1) - p, with the weight flipped in both
 * spatial axes and its channel axes swapped within each group. Returns that
 * correlation's geometry, or null when the padding is too large for it.
 */
export function transposedGeometry(g: ConvGeometry): ConvGeometry | null {
  const PH = g.DH * (g.KH - 1) - g.PH, PW = g.DW * (g.KW - 1) - g.PW;
  if (g.SH !== 1 || g.SW !== 1 || PH < 0 || PW < 0) return null;
  return { N: g.N, C: g.O, H: g.OH, W: g.OW, O: g.C, KH: g.KH, KW: g.KW, OH: g.H, OW: g.W, SH: 1, SW: 1, PH, PW, DH: g.DH, DW: g.DW, G: g.G };
}

/** The Conv layout's parameters: the geometry and the buffers a kernel reads (one object shape for every call). */
function params(g: ConvGeometry, b: { x?: Buf | null; w?: Buf | null; bias?: Buf | null; y?: Buf | null; dy?: Buf | null; dx?: Buf | null; dw?: Buf | null; db?: Buf | null; KB?: number; mode?: number;
                                      TP?: number; LP?: number; HQ?: number; WQ?: number }) {
  return {
    N: g.N, C: g.C, H: g.H, W: g.W, O: g.O, KH: g.KH, KW: g.KW, OH: g.OH, OW: g.OW, SH: g.SH, SW: g.SW, PH: g.PH, PW: g.PW,
    DH: g.DH, DW: g.DW, G: g.G, KB: b.KB ?? 0, mode: b.mode ?? 0, TP: b.TP ?? 0, LP: b.LP ?? 0, HQ: b.HQ ?? 0, WQ: b.WQ ?? 0,
    x: b.x ?? null, w: b.w ?? null, bias: b.bias ?? null, y: b.y ?? null, dy: b.dy ?? null, dx: b.dx ?? null, dw: b.dw ?? null, db: b.db ?? null,
  };
}

/** Floats of a weight packed in layout `mode` for geometry g (see assembly/conv2d_pack.ts). */
function packedLength(g: ConvGeometry, mode: number): number {
  const Cg = g.C / g.G, Og = g.O / g.G, KK = g.KH * g.KW;
  if (mode === PACK.FORWARD) return g.G * Math.ceil(Og / 4) * 4 * Cg * KK;
  if (mode === PACK.TRANSPOSED) return g.G * Math.ceil((Cg * KK) / 4) * 4 * Og;
  if (mode === PACK.FLIP) return g.O * Cg * KK;
  return g.G * Math.ceil(Cg / 4) * 4 * Og * KK; // FLIP_FORWARD
}

/**
 * The weight in layout `mode`, derived from w's storage and cached there: the
 * key names everything the packed data depends on besides the weight's values
 * (layout, where the weight starts, groups, channels, kernel size, build);
 * the storage rebuilds it when its version changed and frees it with itself.
 */
function packed(be: Backend, w: Tensor, g: ConvGeometry, mode: number, fn: string): Buf {
  const key = `conv2d/${mode}/${w.offset}/${g.G},${g.O},${g.C},${g.KH},${g.KW}/${be.build}`;
  return derived(w, key, packedLength(g, mode), (dst) => run(be, conv2dPack, params(g, { mode, w, y: dst }), fn, []), `weight ${fmtShape(w.shape)}`, fn);
}

/** y = conv(x, w) + b into y. */
function forward(be: Backend, fn: string, g: ConvGeometry, x: Tensor, w: Tensor, b: Tensor | null, y: Tensor): void {
  const k = chooseForward(g);
  if (k === conv2dForwardLanes) {
    const f = inputFrame(g);
    if (isGradEnabled() && w.requiresGrad) {
      // The weight gradient reads the same packed input: kept with x.
      run(be, k, params(g, { x: packedInput(be, x, g, f, fn), w: packed(be, w, g, PACK.FORWARD, fn), bias: b, y, mode: 0, ...f }), fn, []);
      return;
    }
    const xp = packLanes(be, x, g.N, g.C, g.H, g.W, f, fn);
    try { run(be, k, params(g, { x: xp, w: packed(be, w, g, PACK.FORWARD, fn), bias: b, y, mode: 0, ...f }), fn, []); } finally { xp.dispose(); }
    return;
  }
  const wb = k === conv2dForwardDirect ? w : packed(be, w, g, PACK.FORWARD, fn);
  run(be, k, params(g, { x, w: wb, bias: b, y }), fn, []);
}

/** The three gradients of a convolution, for those of x, w, b that require one. */
function backward(be: Backend, fn: string, g: ConvGeometry, x: Tensor, w: Tensor, b: Tensor | null, dy: Tensor,
                  needDx = x.requiresGrad): Array<Tensor | null> {
  // dx, dw, and db when there is a bias.
  const grads: Array<Tensor | null> = b ? [null, null, null] : [null, null];
  const gt = transposedGeometry(g);
  const lanesDx = needDx && gt !== null && useLanes(gt), lanesDw = w.requiresGrad && useLanes(g);
  // The output gradient in the lanes layout, shared by both lanes kernels.
  const dyp = lanesDx || lanesDw ? packLanes(be, dy, g.N, g.O, g.OH, g.OW, gradFrame(g), fn) : null;
  try {
    if (needDx) {
      const dx = grads[0] = output(x.shape, fn);
      if (lanesDx) {
        // Stride 1: a correlation of dy with the flipped weight over the taps that read dy.
        run(be, conv2dForwardLanes, params(gt!, { x: dyp, w: packed(be, w, g, PACK.FLIP_FORWARD, fn), y: dx, mode: 1, ...gradFrame(g) }), fn, []);
      } else if (gt && (chooseForward(gt) === conv2dForwardDirect || gt.O / gt.G >= 8)) {
        // Stride 1: a correlation of dy with the flipped weight, on a forward kernel
        // (when its output channels fill the GEMM tile; else the col2im GEMM is faster).
        const k = chooseForward(gt);
        const wf = packed(be, w, g, k === conv2dForwardDirect ? PACK.FLIP : PACK.FLIP_FORWARD, fn);
        run(be, k, params(gt, { x: dy, w: wf, y: dx }), fn, []);
      } else {
        run(be, conv2dBackwardInputGemm, params(g, { dy, w: packed(be, w, g, PACK.TRANSPOSED, fn), dx }), fn, []);
      }
    }
    if (w.requiresGrad) {
      const dw = grads[1] = output(w.shape, fn);
      if (lanesDw) {
        const f = inputFrame(g);
        // The bias gradient from the same packed dy, in the same call.
        const db = b?.requiresGrad ? (grads[2] = output(b.shape, fn)) : null;
        run(be, conv2dBackwardWeightLanes, params(g, { x: packedInput(be, x, g, f, fn), dy: dyp, dw, db, KB: lanesWeightGroup(g), ...f }), fn, []);
      } else {
        run(be, chooseBackwardWeight(g), params(g, { KB: weightBlock(g), x, dy, dw }), fn, []);
      }
    }
  } finally {
    dyp?.dispose();
  }
  if (b && b.requiresGrad && !grads[2]) {
    const db = grads[2] = output(b.shape, fn);
    run(be, conv2dBackwardBias, params(g, { dy, db }), fn, []);
  }
  return grads;
}

/** Forward convolution of validated operands, with its gradient function. */
function convolve(fn: string, g: ConvGeometry, x: Tensor, w: Tensor, b: Tensor | null, outShape: number[]): Tensor {
  const be = x.backend;
  const y = output(outShape, fn);
  try {
    forward(be, fn, g, x, w, b, y);
  } catch (e) {
    y.dispose();
    throw e;
  }
  return record(y, fn, b ? [x, w, b] : [x, w], [x, w], (dy) => backward(be, `${fn} backward`, g, x, w, b, dy));
}

/**
 * A convolution of the input padded by `pad` in `mode` (torch.nn.Conv2d's
 * padding_mode): the padded input is made again for the gradient, which is
 * then folded back onto the input by pad's gradient.
 */
function convolvePadded(fn: string, g: ConvGeometry, xt: Tensor, wt: Tensor, b: Tensor | null, outShape: number[], pads: number[],
                        mode: 'reflect' | 'replicate' | 'circular'): Tensor {
  const pg = padGeometry(xt.shape, pads, mode, 0, fn);
  const gp = conv2dInfo(pg.outShape, wt.shape, { stride: [g.SH, g.SW], dilation: [g.DH, g.DW], groups: g.G }, fn);
  const be = xt.backend;
  const y = output(outShape, fn);
  try {
    const xp = padForward(be, pg, xt, fn);
    try { forward(be, fn, gp, xp, wt, b, y); } finally { xp.dispose(); }
  } catch (e) {
    y.dispose();
    throw e;
  }
  return record(y, fn, b ? [xt, wt, b] : [xt, wt], [xt, wt], (dy) => {
    const xp = padForward(be, pg, xt, `${fn} backward`);
    const grads = backward(be, `${fn} backward`, gp, xp, wt, b, dy, xt.requiresGrad);
    xp.dispose();
    if (grads[0]) { const dxp = grads[0]; grads[0] = padGradient(be, pg, dxp, `${fn} backward`); dxp.dispose(); }
    return grads;
  });
}

/**
 * 2-D cross-correlation with the semantics of `torch.nn.functional.conv2d`:
 * input (N, C, H, W) or (C, H, W), weight (O, C/groups, kH, kW), optional bias (O).
 *
 * @example
 * const x = ones([1, 1, 6, 8]);
 * const w = tensor([[[[1, -1]]]]);                       // (1, 1, 1, 2)
 * conv2d(x, w).shape;                                     // [1, 1, 6, 7]
 * conv2d(x, w, { padding: 'same' }).shape;                // [1, 1, 6, 8]
 * conv2d(ones([2, 4, 9, 9]), ones([6, 2, 3, 3]), { stride: 2, padding: 1, groups: 2 }).shape; // [2, 6, 5, 5]
 * conv2d(tensor([[[[1, 2, 3]]]]), ones([1, 1, 1, 3]), { padding: [0, 1], paddingMode: 'circular' }).toArray(); // [[[[6, 6, 6]]]]
 */
export function conv2d(x: Tensor, weight: Tensor, opts: Conv2dArgs = {}): Tensor {
  const fn = 'conv2d';
  const xt = tensorArg(x, fn, 'input'), wt = tensorArg(weight, fn, 'weight');
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
  const bias = opts.bias, paddingMode = opts.paddingMode;
  const b = bias === undefined || bias === null ? null : tensorArg(bias, fn, 'bias');
  if (paddingMode !== undefined && paddingMode !== 'zeros' && paddingMode !== 'reflect' && paddingMode !== 'replicate' && paddingMode !== 'circular') {
    const msg = `${fn}: paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got ${describe(paddingMode)}`;
    throw typeof paddingMode === 'string' ? new RangeError(msg) : new TypeError(msg);
  }
  sameBackend(fn, xt, wt, ...(b ? [b] : []));
  const g = conv2dInfo(xt.shape, wt.shape, opts, fn);
  if (b && (b.ndim !== 1 || b.shape[0] !== g.O)) {
    throw new ShapeError(`${fn}: bias must have shape [${g.O}] (one per output channel), got ${fmtShape(b.shape)}`);
  }
  const outShape = xt.ndim === 4 ? [g.N, g.O, g.OH, g.OW] : [g.O, g.OH, g.OW];
  if (paddingMode !== undefined && paddingMode !== 'zeros') {
    // 'same' puts the odd extra on the bottom and right, as PyTorch.
    const same = g.SH === 1 && g.SW === 1 && g.OH === g.H && g.OW === g.W;
    const th = g.DH * (g.KH - 1), tw = g.DW * (g.KW - 1);
    const pads = same ? [g.PW, tw - g.PW, g.PH, th - g.PH] : [g.PW, g.PW, g.PH, g.PH];
    if (pads.some((p) => p > 0)) return convolvePadded(fn, g, xt, wt, b, outShape, pads, paddingMode);
  }
  return convolve(fn, g, xt, wt, b, outShape);
}

/**
 * The chapter's two-dimensional cross-correlation: `X` (h, w) with kernel `K`
 * (kh, kw), no padding, stride 1; the output is (h - kh + 1, w - kw + 1).
 *
 * @example
 * const X = tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
 * const K = tensor([[0, 1], [2, 3]]);
 * corr2d(X, K).toArray(); // [[19, 25], [37, 43]]
 */
export function corr2d(X: Tensor, K: Tensor): Tensor {
  return corr2dBias(X, K, null);
}

/** @internal corr2d(X, K) + bias for a one-element bias, as one op (the chapter's layer). */
export function corr2dBias(X: Tensor, K: Tensor, bias: Tensor | null, fn = 'corr2d'): Tensor {
  const x = tensorArg(X, fn, 'X'), k = tensorArg(K, fn, 'K');
  if (x.ndim !== 2) throw new ShapeError(`${fn}: X must be 2-D (h, w), got shape ${fmtShape(x.shape)}`);
  if (k.ndim !== 2) throw new ShapeError(`${fn}: K must be 2-D (kh, kw), got shape ${fmtShape(k.shape)}`);
  const b = bias === null ? null : tensorArg(bias, fn, 'bias');
  sameBackend(fn, x, k, ...(b ? [b] : []));
  if (k.shape[0] > x.shape[0] || k.shape[1] > x.shape[1] || k.size === 0) {
    throw new ShapeError(`${fn}: kernel ${fmtShape(k.shape)} is larger than the input ${fmtShape(x.shape)}`);
  }
  // Stride 1, no padding: the geometry needs no further checks (both are tensors, the kernel fits).
  const [H, W] = x.shape, [KH, KW] = k.shape;
  const g: ConvGeometry = { N: 1, C: 1, H, W, O: 1, KH, KW, OH: H - KH + 1, OW: W - KW + 1, SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1, G: 1 };
  if (b && b.size !== 1) throw new ShapeError(`${fn}: bias must have one element, got shape ${fmtShape(b.shape)}`);
  return convolve(fn, g, x, k, b, [g.OH, g.OW]);
}
