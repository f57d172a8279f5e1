// Gradient with respect to the bias: db[o] = sum_n sum_{i,j} dy[n, o, i, j].
import { gN, gO, gOH, gOW, isSimd, hsum, f4 } from './common';
import { ConvP } from './generated/params';

/** dy, db. Units: O. Sums each plane as four lane sums, then the tail. */
export function backwardBias<V>(p: usize, ws: usize, begin: i32, end: i32): void {
  const dy = ConvP.dy(p), db = ConvP.db(p);
  const N = gN(p), O = gO(p), P = gOH(p) * gOW(p), P4 = P & ~3;
  for (let o = begin; o < end; o++) {
    let total: f32 = 0;
    for (let n = 0; n < N; n++) {
      let q = dy + f4((n * O + o) * P);
      let s: f32;
      if (isSimd<V>()) {
        let acc = f32x4.splat(0);
        for (let t = 0; t < P4; t += 4) { acc = f32x4.add(acc, v128.load(q)); q += 16; }
        s = hsum(acc);
      } else {
        let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
        for (let t = 0; t < P4; t += 4) {
          s0 += load<f32>(q); s1 += load<f32>(q, 4); s2 += load<f32>(q, 8); s3 += load<f32>(q, 12);
          q += 16;
        }
        s = (s0 + s1) + (s2 + s3);
      }
      for (let t = P4; t < P; t++) { s += load<f32>(q); q += 4; }
      total += s;
    }
    store<f32>(db + f4(o), total);
  }
}
