import type { Backend } from '../backend';
import type { Block, Buf, Fields, Kernel, Params, RefParams } from '../layout';

/**
 * The reference backend: tensors are Float64Arrays and every kernel family runs
 * its float64 `reference` from the registry. Slow and obvious; the definition
 * the WebAssembly kernels are tested against, and the backend of the float64
 * gradient checks.
 *
 * @example
 * await init({ backend: 'reference' });
 * corr2d(tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), tensor([[0, 1], [2, 3]])).toArray(); // [[19, 25], [37, 43]]
 */
export class ReferenceBackend implements Backend {
  readonly name = 'reference' as const;
  readonly build = null;
  readonly threads = 1;
  readonly bytesPerElement = 8;
  disposed = false;
  private bytes = 0;

  alloc(floats: number): Block { this.bytes += floats * 8; return new Float64Array(floats); }
  free(b: Block): void { this.bytes -= (b as Float64Array).length * 8; }
  read(b: Block, offset: number, length: number): Float64Array { return (b as Float64Array).slice(offset, offset + length); }
  write(b: Block, offset: number, src: ArrayLike<number>): void { (b as Float64Array).set(src, offset); }
  memoryBytes(): number { return this.bytes; }
  dispose(): void { this.disposed = true; }

  run<F extends Fields>(k: Kernel<F>, p: Params<F>): void {
    const q: Record<string, unknown> = {};
    for (const [name, type] of Object.entries(k.layout.fields)) {
      const v = (p as Record<string, unknown>)[name];
      if (type === 'ptr') {
        const b = v as Buf | null | undefined;
        q[name] = b ? (b.block as Float64Array).subarray(b.offset) : null;
      } else if (type === 'dims') q[name] = v ?? [];
      else if (type === 'f32') q[name] = Math.fround((v as number | undefined) ?? 0); // as the wasm kernels read it
      else q[name] = v ?? 0;
    }
    k.reference(q as RefParams<F>);
  }
}
