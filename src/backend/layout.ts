/**
 * Parameter layouts and kernel declarations: the vocabulary of the kernel
 * registry (src/backend/registry.ts). A layout is an ordered list of named
 * 4-byte fields (pointers, i32, f32, or arrays of MAXDIM i32) that a kernel
 * reads from one parameter block in linear memory. The build generates the
 * AssemblyScript accessors from the same declaration, so JS and WebAssembly
 * agree on every offset by construction (and `abi()` checks it at load).
 */

/** Dimensions a strided kernel handles after merging contiguous dimensions. */
export const MAXDIM = 8;

/** A field of a parameter block. `dims` is an array of MAXDIM i32. */
export type Field = 'ptr' | 'i32' | 'f32' | 'dims';
export type Fields = Readonly<Record<string, Field>>;

/** A block of backend memory: the byte address of a WebAssembly block or, on the reference backend, a Float64Array. */
export type Block = number | Float64Array;

/**
 * A buffer argument of a kernel: a block and an element offset into it.
 * A Tensor is one (its storage's block and its offset), so ops pass tensors.
 */
export interface Buf { readonly block: Block; readonly offset: number }

type Value<T extends Field> = T extends 'ptr' ? Buf | null : T extends 'dims' ? readonly number[] : number;
type RefValue<T extends Field> = T extends 'ptr' ? Float64Array | null : T extends 'dims' ? readonly number[] : number;

/** What an op passes for a layout: every field optional (0 or null when missing). */
export type Params<F extends Fields> = { [K in keyof F]?: Value<F[K]> };
/** What a reference function receives: pointers resolved to Float64Array views (null when missing), every field present. */
export type RefParams<F extends Fields> = { [K in keyof F]: RefValue<F[K]> };

/** A named parameter layout with its field offsets in bytes. */
export interface Layout<F extends Fields = Fields> {
  readonly name: string;
  readonly fields: F;
  readonly offsets: { readonly [K in keyof F]: number };
  readonly bytes: number;
}

/** Declares a layout; offsets follow declaration order, 4 bytes a field, MAXDIM*4 an array. */
export function layout<F extends Fields>(name: string, fields: F): Layout<F> {
  const offsets: Record<string, number> = {};
  let at = 0;
  for (const [k, t] of Object.entries(fields)) {
    offsets[k] = at;
    at += t === 'dims' ? MAXDIM * 4 : 4;
  }
  return { name, fields, offsets: offsets as Layout<F>['offsets'], bytes: at };
}

/**
 * One kernel family: the AssemblyScript generic function `fn` in
 * `assembly/<source>.ts`, exported by the builds as `<name>_simd` (when `simd`)
 * and `<name>_scalar`, with the signature `(params, ws, begin, end)`.
 */
export interface Kernel<F extends Fields = Fields> {
  /** Position in the registry (set when the family is declared). */
  readonly index?: number;
  readonly name: string;
  readonly source: string;
  readonly fn: string;
  /** Whether a SIMD variant exists; scalar-only families run their scalar kernel in every build. */
  readonly simd: boolean;
  readonly layout: Layout<F>;
  /** Independent work units of a call; threads take contiguous ranges of them. */
  units(p: Params<F>): number;
  /** Private workspace per thread, in floats. */
  workspace(p: Params<F>): number;
  /** Work of a call in flop-equivalents: small calls stay on the calling thread. */
  cost(p: Params<F>): number;
  /** The float64 definition, run by the reference backend. */
  reference(p: RefParams<F>): void;
}

/** Names of an enum's members as consecutive codes, for op switches shared with AssemblyScript. */
export function codes<const N extends readonly string[]>(...names: N): { readonly [K in N[number]]: number } {
  const out: Record<string, number> = {};
  names.forEach((n, i) => { out[n] = i; });
  return out as { readonly [K in N[number]]: number };
}

/** Bit flags, for kernels that take several booleans in one field. */
export function flags<const N extends readonly string[]>(...names: N): { readonly [K in N[number]]: number } {
  const out: Record<string, number> = {};
  names.forEach((n, i) => { out[n] = 1 << i; });
  return out as { readonly [K in N[number]]: number };
}
