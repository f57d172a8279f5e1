// The float64 definition of the reduction kernel.
import type { RefParams } from '../layout';
import type { Reduce } from '../registry';
import { REDUCE } from '../constants';

type ReduceP = RefParams<typeof Reduce.fields>;

/** Whether v beats best for max (isMax) or min: strictly better, or the first NaN. */
export function better(isMax: boolean, v: number, best: number): boolean {
  if (Number.isNaN(v)) return !Number.isNaN(best);
  return isMax ? v > best : v < best;
}

/** y[a, c, b] = sum, max or min over r in chunk c of x[a, r, b] (REDUCE op), divided by divisor; yi: the first index. */
export function reduceRef(p: ReduceP): void {
  const { op, A, R, B, RC, divisor } = p;
  const x = p.x!, y = p.y!;
  const nchunk = Math.ceil(R / RC);
  for (let a = 0; a < A; a++) for (let c = 0; c < nchunk; c++) for (let b = 0; b < B; b++) {
    const r0 = c * RC, r1 = Math.min(R, r0 + RC);
    const out = (a * nchunk + c) * B + b;
    const at = (r: number) => (a * R + r) * B + b;
    if (op === REDUCE.SUM) {
      let s = 0;
      for (let r = r0; r < r1; r++) s += x[at(r)];
      y[out] = s / divisor;
      continue;
    }
    let best = x[at(r0)], arg = r0;
    for (let r = r0 + 1; r < r1; r++) if (better(op === REDUCE.MAX, x[at(r)], best)) { best = x[at(r)]; arg = r; }
    y[out] = best / divisor;
    if (p.yi) p.yi[out] = p.xi ? p.xi[at(arg)] : arg;
  }
}
