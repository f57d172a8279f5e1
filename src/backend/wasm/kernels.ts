import type { ConvGeometry } from '../backend';

/**
 * The kernel table. Each entry names a family exported by the WebAssembly
 * builds as `${name}_simd` and `${name}_scalar` (the no-SIMD build has only the
 * scalar one), how many independent work units a call splits into, and how
 * much private workspace (floats) each thread needs. Tests and benchmarks
 * iterate this table, so adding a kernel here adds it to both.
 * The tile sizes must match assembly/ (NCOL, NCOLB, RB, CB; KB is passed in the geometry block).
 */
export interface KernelSpec {
  readonly name: string;
  readonly pass: 'forward' | 'backward-input' | 'backward-weight' | 'backward-bias';
  /** Whether this kernel can compute `g` (the caller picks among those that can). */
  applies(g: ConvGeometry): boolean;
  units(g: ConvGeometry): number;
  workspace(g: ConvGeometry): number;
  /** The weight layout the kernel reads. */
  weight: 'oihw' | 'packed-forward' | 'packed-transposed' | 'none';
}

export const NCOL = 64;
const NCOLB = 256;
const RB = 16;
const CB = 4;
/** Weight columns per backward-weight unit: 8, or 2 when that would leave fewer than 8 units. */
export const weightBlock = (g: ConvGeometry) => (g.G * cdiv(Kg(g), 8) >= 8 ? 8 : 2);

const cdiv = (a: number, b: number) => Math.ceil(a / b);
const Kg = (g: ConvGeometry) => (g.C / g.G) * g.KH * g.KW;

/** Rows and columns of the zero-bordered plane the direct kernels read. */
const paddedH = (g: ConvGeometry) => g.OH + (g.KH - 1) * g.DH;
const paddedW = (g: ConvGeometry) => g.OW + (g.KW - 1) * g.DW;
const needsBorder = (g: ConvGeometry) => g.PH !== 0 || g.PW !== 0 || paddedH(g) > g.H || paddedW(g) > g.W;

export const forwardDirect: KernelSpec = {
  name: 'conv2d_forward_direct',
  pass: 'forward',
  applies: (g) => g.SH === 1 && g.SW === 1,
  units: (g) => g.N * g.O * cdiv(g.OH, RB),
  workspace: (g) => (needsBorder(g) ? (g.C / g.G) * (Math.min(RB, g.OH) + (g.KH - 1) * g.DH) * paddedW(g) : 0),
  weight: 'oihw',
};

export const forwardGemm: KernelSpec = {
  name: 'conv2d_forward_gemm',
  pass: 'forward',
  applies: () => true,
  units: (g) => g.N * g.G * cdiv(g.OH * g.OW, NCOL),
  workspace: (g) => Kg(g) * NCOL,
  weight: 'packed-forward',
};

export const backwardInputGemm: KernelSpec = {
  name: 'conv2d_backward_input_gemm',
  pass: 'backward-input',
  applies: () => true,
  units: (g) => g.N * g.G * cdiv(g.C / g.G, CB),
  workspace: (g) => (Math.ceil((CB * g.KH * g.KW) / 4) * 4 + g.O / g.G) * NCOLB,
  weight: 'packed-transposed',
};

export const backwardWeightGemm: KernelSpec = {
  name: 'conv2d_backward_weight_gemm',
  pass: 'backward-weight',
  applies: () => true,
  units: (g) => g.G * cdiv(Kg(g), weightBlock(g)),
  workspace: (g) => weightBlock(g) * (Math.ceil((g.OH * g.OW) / 4) * 4 + 16),
  weight: 'none',
};

export const backwardWeightDirect: KernelSpec = {
  name: 'conv2d_backward_weight_direct',
  pass: 'backward-weight',
  applies: (g) => g.SH === 1 && g.SW === 1,
  units: (g) => g.O * (g.C / g.G) * cdiv(g.KH, 3) * cdiv(g.KW, 3),
  workspace: (g) => (needsBorder(g) ? paddedH(g) * paddedW(g) : 0),
  weight: 'none',
};

export const backwardBias: KernelSpec = {
  name: 'conv2d_backward_bias',
  pass: 'backward-bias',
  applies: () => true,
  units: (g) => g.O,
  workspace: () => 0,
  weight: 'none',
};

/** Every kernel family, for tests and benchmarks. */
export const KERNELS: readonly KernelSpec[] = [forwardDirect, forwardGemm, backwardInputGemm, backwardWeightGemm, backwardWeightDirect, backwardBias];

/**
 * The forward kernel for a shape: direct for stride 1 with few output channels
 * per group (the chapter's corr2d, image filters, depthwise), where a 4-row GEMM
 * tile would be mostly empty; packed GEMM otherwise.
 */
export function chooseForward(g: ConvGeometry): KernelSpec {
  return forwardDirect.applies(g) && g.O / g.G < 4 && g.C / g.G <= 8 ? forwardDirect : forwardGemm;
}

/** The weight-gradient kernel for a shape: direct where the forward pass is. */
export function chooseBackwardWeight(g: ConvGeometry): KernelSpec {
  return chooseForward(g) === forwardDirect ? backwardWeightDirect : backwardWeightGemm;
}

/**
 * The input gradient of a stride-1 convolution is itself a stride-1 correlation:
 * of the output gradient, padded by d*(k-1) - p, with the weight flipped in both
 * spatial axes and its channel axes swapped within each group. Returns that
 * correlation's geometry, or null when the padding is too large for it.
 */
export function transposedGeometry(g: ConvGeometry): ConvGeometry | null {
  const PH = g.DH * (g.KH - 1) - g.PH, PW = g.DW * (g.KW - 1) - g.PW;
  if (g.SH !== 1 || g.SW !== 1 || PH < 0 || PW < 0) return null;
  return {
    N: g.N, C: g.O, H: g.OH, W: g.OW, O: g.C, KH: g.KH, KW: g.KW, OH: g.H, OW: g.W,
    SH: 1, SW: 1, PH, PW, DH: g.DH, DW: g.DW, G: g.G,
  };
}

/** Writes the flipped, channel-swapped weight of `transposedGeometry` (shape [C, O/G, KH, KW]). */
export function flipWeight(g: ConvGeometry, w: ArrayLike<number>, dst: Float32Array): void {
  const Cg = g.C / g.G, Og = g.O / g.G, KK = g.KH * g.KW;
  for (let grp = 0; grp < g.G; grp++) {
    for (let c = 0; c < Cg; c++) for (let o = 0; o < Og; o++) {
      const src = ((grp * Og + o) * Cg + c) * KK, out = ((grp * Cg + c) * Og + o) * KK;
      for (let k = 0; k < KK; k++) dst[out + k] = w[src + KK - 1 - k];
    }
  }
}

/** Multiply-adds of the forward pass, times two. */
export function convFlops(g: ConvGeometry): number {
  return 2 * g.N * g.O * g.OH * g.OW * (g.C / g.G) * g.KH * g.KW;
}

/** Packs OIHW weights as [G][ceil(Og/4)][Kg][4] for the forward GEMM. */
export function packForward(g: ConvGeometry, w: ArrayLike<number>, dst: Float32Array): void {
  const Og = g.O / g.G, K = Kg(g), Ogp = Math.ceil(Og / 4) * 4;
  for (let grp = 0; grp < g.G; grp++) {
    for (let o = 0; o < Ogp; o++) {
      const base = (grp * Ogp + (o & ~3)) * K + (o & 3);
      const src = (grp * Og + o) * K;
      for (let k = 0; k < K; k++) dst[base + k * 4] = o < Og ? w[src + k] : 0;
    }
  }
}
export const packedForwardLength = (g: ConvGeometry) => g.G * Math.ceil(g.O / g.G / 4) * 4 * Kg(g);

/** Packs OIHW weights transposed as [G][ceil(Kg/4)][Og][4] for the backward-input GEMM. */
export function packTransposed(g: ConvGeometry, w: ArrayLike<number>, dst: Float32Array): void {
  const Og = g.O / g.G, K = Kg(g), Kp = Math.ceil(K / 4) * 4;
  for (let grp = 0; grp < g.G; grp++) {
    for (let r = 0; r < Kp; r++) {
      const base = (grp * Kp + (r & ~3)) * Og + (r & 3);
      for (let o = 0; o < Og; o++) dst[base + o * 4] = r < K ? w[(grp * Og + o) * K + r] : 0;
    }
  }
}
export const packedTransposedLength = (g: ConvGeometry) => g.G * Math.ceil(Kg(g) / 4) * 4 * (g.O / g.G);
