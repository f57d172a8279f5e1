// The float64 definitions of activation kernels.
import type { RefParams } from '../layout';
import type { Softplus } from '../registry';

/** softplus and its gradient, as torch.nn.functional.softplus. */
export function softplusRef(p: RefParams<typeof Softplus.fields>): void {
  const x = p.x!, y = p.y!;
  for (let i = 0; i < p.n; i++) {
    const t = x[i] * p.beta;
    if (p.backward) y[i] = t > p.threshold ? p.g![i] : (p.g![i] * Math.exp(t)) / (Math.exp(t) + 1);
    else y[i] = t > p.threshold ? x[i] : Math.log1p(Math.exp(t)) / p.beta;
  }
}
