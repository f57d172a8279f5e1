// The float64 definition of the data-augmentation kernel.
import type { RefParams } from '../layout';
import type { Augment } from '../registry';

export function cropFlipRef(p: RefParams<typeof Augment.fields>): void {
  const { N, C, H, W, OH, OW, pad } = p;
  const x = p.x!, o = p.offsets!, y = p.y!;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    const h = i + o[n * 3] - pad, w = (o[n * 3 + 2] ? OW - 1 - j : j) + o[n * 3 + 1] - pad;
    y[((n * C + c) * OH + i) * OW + j] = h >= 0 && h < H && w >= 0 && w < W ? x[((n * C + c) * H + h) * W + w] : 0;
  }
}
