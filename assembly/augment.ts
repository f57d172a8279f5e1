// Per-sample data augmentation of a batch of NCHW images: a crop of the
// zero-padded image at a per-sample offset, then an optional horizontal flip
// (torchvision's RandomCrop(size, padding) followed by RandomHorizontalFlip):
//   y[n, c, i, j] = xpad[n, c, i + dy, (flip ? OW - 1 - j : j) + dx]
// where xpad is x with `pad` zeros on every side and (dy, dx, flip) are row n of `offsets`.
import { AugmentP } from './generated/params';

@inline function f4(i: i32): usize { return <usize>i << 2; }

/** x [N, C, H, W], offsets [N, 3] (whole numbers), y [N, C, OH, OW]. Units: N * C planes. */
export function cropFlip<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const C = AugmentP.C(p), H = AugmentP.H(p), W = AugmentP.W(p), OH = AugmentP.OH(p), OW = AugmentP.OW(p), pad = AugmentP.pad(p);
  const x = AugmentP.x(p), offsets = AugmentP.offsets(p), y = AugmentP.y(p);
  for (let u = begin; u < end; u++) {
    const n = u / C;
    const dy = <i32>load<f32>(offsets + f4(n * 3)) - pad, dx = <i32>load<f32>(offsets + f4(n * 3 + 1)) - pad;
    const flip = load<f32>(offsets + f4(n * 3 + 2)) != 0;
    const src = x + f4(u * H * W), dst = y + f4(u * OH * OW);
    for (let i = 0; i < OH; i++) {
      const h = i + dy;
      const row = dst + f4(i * OW);
      if (h < 0 || h >= H) { memory.fill(row, 0, f4(OW)); continue; }
      const srow = src + f4(h * W);
      for (let j = 0; j < OW; j++) {
        const w = (flip ? OW - 1 - j : j) + dx;
        store<f32>(row + f4(j), w >= 0 && w < W ? load<f32>(srow + f4(w)) : 0);
      }
    }
  }
}
