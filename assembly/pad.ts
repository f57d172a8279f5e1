// Padding of the last three dimensions (D, H, W) of P planes, as
// torch.nn.functional.pad with mode 'constant', 'reflect', 'replicate' or
// 'circular' (fewer padded dimensions have D = 1 or D = H = 1 and no padding
// there); negative paddings crop. Left paddings are PD, PT, PL; the right ones
// follow from the output sizes.
//
// Forward units: (plane, block of RB output rows (od, oh)); each output row is
// its left part (mapped element by element), the contiguous middle (a copy) and
// its right part. Backward units: (plane, block of RB input rows (d, h)); each
// zeroes its rows and adds, for every output row that reads one of them (in
// output order), that row's elements at their sources, left to right.
import { PadP, PAD_CONSTANT, PAD_REFLECT, PAD_REPLICATE } from './generated/params';
import { isSimd, f4, imin, imax, zeroRun, copyRun } from './common';

/**
 * The input index that output index o reads along a dimension of n inputs with
 * left padding pl and O outputs, or -1 (constant mode, outside the input).
 * Circular mode wraps within the input left after cropping (negative paddings).
 */
@inline function source(mode: i32, o: i32, n: i32, pl: i32, O: i32): i32 {
  const j = o - pl;
  if (j >= 0 && j < n) return j;
  if (mode == PAD_CONSTANT) return -1;
  if (mode == PAD_REPLICATE) return j < 0 ? 0 : n - 1;
  if (mode == PAD_REFLECT) return j < 0 ? -j : 2 * (n - 1) - j;
  const c0 = imax(-pl, 0), m = n - c0 - imax(pl + n - O, 0);
  let k = (o - imax(pl, 0)) % m;
  if (k < 0) k += m;
  return c0 + k;
}

/** The middle outputs [m0, m1) of a dimension: those reading input o - pl directly. */
@inline function middleStart(pl: i32, O: i32): i32 { return imin(imax(pl, 0), O); }
@inline function middleEnd(pl: i32, n: i32, O: i32): i32 { return imin(imax(pl + n, middleStart(pl, O)), O); }

/** Writes n copies of v at dst. */
@inline function fillRun<V>(dst: usize, n: i32, v: f32): void {
  let t = 0;
  if (isSimd<V>()) {
    const vv = f32x4.splat(v);
    for (; t + 4 <= n; t += 4) v128.store(dst + f4(t), vv);
  }
  for (; t < n; t++) store<f32>(dst + f4(t), v);
}

/** pad: y (P, OD, OH, OW) from x (P, D, H, W). */
export function pad<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const D = PadP.D(p), H = PadP.H(p), W = PadP.W(p), OD = PadP.OD(p), OH = PadP.OH(p), OW = PadP.OW(p);
  const PD = PadP.PD(p), PT = PadP.PT(p), PL = PadP.PL(p), mode = PadP.mode(p), value = PadP.value(p), RB = PadP.RB(p);
  const x = PadP.x(p), y = PadP.y(p);
  const rows = OD * OH, nb = (rows + RB - 1) / RB;
  const m0 = middleStart(PL, OW), m1 = middleEnd(PL, W, OW);
  for (let u = begin; u < end; u++) {
    const plane = u / nb, blk = u - plane * nb;
    const r1 = imin(rows, (blk + 1) * RB);
    for (let r = blk * RB; r < r1; r++) {
      const od = r / OH, oh = r - od * OH;
      const yr = y + f4((plane * rows + r) * OW);
      const sd = source(mode, od, D, PD, OD), sh = source(mode, oh, H, PT, OH);
      if (sd < 0 || sh < 0) { fillRun<V>(yr, OW, value); continue; }
      const xr = x + f4(((plane * D + sd) * H + sh) * W);
      if (mode == PAD_CONSTANT) {
        fillRun<V>(yr, m0, value);
        fillRun<V>(yr + f4(m1), OW - m1, value);
      } else {
        for (let o = 0; o < m0; o++) store<f32>(yr + f4(o), load<f32>(xr + f4(source(mode, o, W, PL, OW))));
        for (let o = m1; o < OW; o++) store<f32>(yr + f4(o), load<f32>(xr + f4(source(mode, o, W, PL, OW))));
      }
      copyRun<V>(yr + f4(m0), xr + f4(m0 - PL), m1 - m0);
    }
  }
}

/**
 * The outputs that read input index i along a dimension, in increasing order,
 * as three runs: [s[0], s[1]) left of the middle, [s[2], s[3]) the middle one,
 * [s[4], s[5]) right of it (empty runs have s[2k] >= s[2k+1]). Written at s (6 i32).
 */
function sources(s: usize, mode: i32, i: i32, n: i32, pl: i32, O: i32): void {
  const m0 = middleStart(pl, O), m1 = middleEnd(pl, n, O);
  let a0 = 0, a1 = 0, b0 = 0, b1 = 0;
  const id = i + pl;
  const c0 = id >= m0 && id < m1 ? id : 0, c1 = id >= m0 && id < m1 ? id + 1 : 0;
  if (mode == PAD_REPLICATE) {
    if (i == 0) { a0 = 0; a1 = m0; }
    if (i == n - 1) { b0 = m1; b1 = O; }
  } else if (mode == PAD_REFLECT) {
    const l = pl - i, r = 2 * (n - 1) - i + pl;
    if (l >= 0 && l < m0) { a0 = l; a1 = l + 1; }
    if (r >= m1 && r < O) { b0 = r; b1 = r + 1; }
  } else if (mode != PAD_CONSTANT) {
    // circular: left outputs wrap once from the end of the cropped input, right ones from its start.
    const cs = imax(-pl, 0), m = n - cs - imax(pl + n - O, 0);
    const l = i - cs + pl - m, r = i - cs + imax(pl, 0) + m;
    if (l >= 0 && l < m0) { a0 = l; a1 = l + 1; }
    if (r >= m1 && r < O) { b0 = r; b1 = r + 1; }
  }
  store<i32>(s, a0); store<i32>(s, a1, 4); store<i32>(s, c0, 8); store<i32>(s, c1, 12); store<i32>(s, b0, 16); store<i32>(s, b1, 20);
}

/** Gradient of pad: dx (P, D, H, W) from dy (P, OD, OH, OW). Workspace: 12 i32. */
export function padBackward<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const D = PadP.D(p), H = PadP.H(p), W = PadP.W(p), OD = PadP.OD(p), OH = PadP.OH(p), OW = PadP.OW(p);
  const PD = PadP.PD(p), PT = PadP.PT(p), PL = PadP.PL(p), mode = PadP.mode(p), RB = PadP.RB(p);
  const dy = PadP.dy(p), dx = PadP.dx(p);
  const rows = D * H, nb = (rows + RB - 1) / RB;
  const m0 = middleStart(PL, OW), m1 = middleEnd(PL, W, OW);
  const sd = ws, sh = ws + 24;
  for (let u = begin; u < end; u++) {
    const plane = u / nb, blk = u - plane * nb;
    const r1 = imin(rows, (blk + 1) * RB);
    for (let r = blk * RB; r < r1; r++) {
      const d = r / H, h = r - d * H;
      const xr = dx + f4((plane * rows + r) * W);
      zeroRun<V>(xr, W);
      sources(sd, mode, d, D, PD, OD);
      sources(sh, mode, h, H, PT, OH);
      for (let q = 0; q < 3; q++) {
        const dEnd = load<i32>(sd + (<usize>q << 3), 4);
        for (let od = load<i32>(sd + (<usize>q << 3)); od < dEnd; od++) {
          for (let k = 0; k < 3; k++) {
            const hEnd = load<i32>(sh + (<usize>k << 3), 4);
            for (let oh = load<i32>(sh + (<usize>k << 3)); oh < hEnd; oh++) {
              const gr = dy + f4(((plane * OD + od) * OH + oh) * OW);
              if (mode != PAD_CONSTANT) {
                for (let o = 0; o < m0; o++) {
                  const a = xr + f4(source(mode, o, W, PL, OW));
                  store<f32>(a, load<f32>(a) + load<f32>(gr + f4(o)));
                }
              }
              addRun<V>(xr + f4(m0 - PL), gr + f4(m0), m1 - m0);
              if (mode != PAD_CONSTANT) {
                for (let o = m1; o < OW; o++) {
                  const a = xr + f4(source(mode, o, W, PL, OW));
                  store<f32>(a, load<f32>(a) + load<f32>(gr + f4(o)));
                }
              }
            }
          }
        }
      }
    }
  }
}

/** dst[t] += src[t] for t < n. */
@inline function addRun<V>(dst: usize, src: usize, n: i32): void {
  let t = 0;
  if (isSimd<V>()) {
    for (; t + 4 <= n; t += 4) v128.store(dst + f4(t), f32x4.add(v128.load(dst + f4(t)), v128.load(src + f4(t))));
  }
  for (; t < n; t++) store<f32>(dst + f4(t), load<f32>(dst + f4(t)) + load<f32>(src + f4(t)));
}
