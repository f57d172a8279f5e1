/**
 * Constants and op codes shared by the kernel registry, the reference kernels
 * and (generated into assembly/generated/params.ts) the AssemblyScript kernels.
 */
import { codes, flags, MAXDIM } from './layout';

/** Tile sizes and chunk lengths shared by the kernels and their callers. */
export const CONSTANTS = {
  /** Element-wise work unit, in elements (a multiple of 16). */
  CHUNK: 16384,
  /** Dimensions of a strided kernel after merging contiguous dimensions. */
  MAXDIM,
  /** Columns of im2col packed per forward-GEMM work unit (a multiple of 8). */
  NCOL: 64,
  /** Output-gradient columns per backward-input GEMM chunk. */
  NCOLB: 256,
  /** Output rows per direct-forward work unit. */
  RB: 16,
  /** Input channels per backward-input work unit. */
  CB: 4,
  /** Length of the fixed chunks a reduction splits its reduced axis into. */
  RC: 32768,
  /** Kept columns per reduction work unit. */
  BB: 256,
} as const;

/** Op codes of the unary family (y = f(x), with scalars s0 and s1). */
export const UNARY = codes('COPY', 'FILL', 'NEG', 'RELU', 'SQUARE', 'EXP', 'LOG', 'SIGMOID', 'TANH', 'SQRT', 'ABS',
  'SIGN', 'ADDS', 'SUBS', 'RSUBS', 'MULS', 'DIVS', 'RDIVS', 'POWS', 'CLAMP', 'LEAKY_RELU');
/** Op codes of the binary family (y = f(a, b), broadcast); the _BW codes take (gradient, x or y). */
export const BINARY = codes('ADD', 'SUB', 'MUL', 'DIV', 'MAXIMUM', 'MINIMUM', 'POW', 'EQ', 'NE', 'LT', 'LE', 'GT', 'GE',
  'RELU_BW', 'LEAKY_BW', 'SIGMOID_BW', 'TANH_BW', 'SQRT_BW', 'SIGN_MUL', 'CLAMP_BW', 'SCALED_MUL');
/** Reductions. */
export const REDUCE = codes('SUM', 'MAX', 'MIN');
/** Weight layouts made by conv2d_pack (see assembly/conv2d_pack.ts). */
export const PACK = codes('FORWARD', 'TRANSPOSED', 'FLIP', 'FLIP_FORWARD');
/** Optimizer flags. */
export const OPT = flags('MOMENTUM', 'FIRST', 'NESTEROV', 'MAXIMIZE', 'DECOUPLED', 'AMSGRAD');
/** Padding modes of the pad family (as torch.nn.functional.pad's `mode`). */
export const PAD = codes('CONSTANT', 'REFLECT', 'REPLICATE', 'CIRCULAR');

/** Enums shared with AssemblyScript, generated there as `${ENUM}_${NAME}` constants. */
export const ENUMS = { UNARY, BINARY, REDUCE, PACK, OPT, PAD } as const;

