import type { ConvGeometry } from '../backend';

/**
 * The kernel table. Each entry names a family exported by the WebAssembly
 * builds as `${name}_simd` and `${name}_scalar` (the no-SIMD build has only the
 * scalar one), how many independent work units a call splits into, and how
 * much private workspace (floats) each thread needs. Tests and benchmarks
 * iterate this table, so adding a kernel here adds it to both.
 * The tile sizes must match assembly/ (NCOL, CB, KB).
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
const CB = 4;
const KB = 8;

const cdiv = (a: number, b: number) => Math.ceil(a / b);
const Kg = (g: ConvGeometry) => (g.C / g.G) * g.KH * g.KW;

export const forwardDirect: KernelSpec = {
  name: 'conv2d_forward_direct',
  pass: 'forward',
  applies: (g) => g.SH === 1 && g.SW === 1,
  units: (g) => g.N * g.O,
  workspace: (g) => (g.PH || g.PW ? (g.C / g.G) * (g.OH + (g.KH - 1) * g.DH) * (g.OW + (g.KW - 1) * g.DW) : 0),
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
  workspace: (g) => Math.ceil((CB * g.KH * g.KW) / 4) * 4 * NCOL,
  weight: 'packed-transposed',
};

export const backwardWeightGemm: KernelSpec = {
  name: 'conv2d_backward_weight_gemm',
  pass: 'backward-weight',
  applies: () => true,
  units: (g) => g.G * cdiv(Kg(g), KB),
  workspace: (g) => KB * (Math.ceil((g.OH * g.OW) / 4) * 4),
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
export const KERNELS: readonly KernelSpec[] = [forwardDirect, forwardGemm, backwardInputGemm, backwardWeightGemm, backwardBias];

/**
 * The forward kernel for a shape: direct for stride 1 with few output channels
 * per group (the chapter's corr2d, image filters, depthwise), where a 4-row GEMM
 * tile would be mostly empty; packed GEMM otherwise.
 */
export function chooseForward(g: ConvGeometry): KernelSpec {
  return forwardDirect.applies(g) && g.O / g.G < 4 && g.C / g.G <= 8 ? forwardDirect : forwardGemm;
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
