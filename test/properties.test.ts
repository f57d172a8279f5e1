// Property-based tests (fast-check, seeded): random convolutions on the wasm
// backend against the reference, and random sequences of create/op/dispose/tidy
// against a model of what memory() must say. `npm run fuzz -- --seconds N` runs
// the same properties for longer (FUZZ_SECONDS).
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { init, tensor, conv2d, tidy, memory, ones, type Tensor } from '../src/index';
import {
  conv2dForwardRef, conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dBackwardBiasRef,
} from '../src/backend/reference/conv';
import { conv2dInfo } from '../src/ops/conv_info';
import { Rng } from '../src/random';
import { TOL, expectClose, randomArray } from './helpers';

const seconds = Number(process.env.FUZZ_SECONDS ?? 0);
const seed = Number(process.env.FUZZ_SEED ?? 20261125);
/** Default: a fixed number of runs; with FUZZ_SECONDS, as many as fit in that time. */
const params = (runs: number): fc.Parameters<unknown> => (seconds > 0
  ? { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 500, markInterruptAsFailure: false }
  : { seed, numRuns: runs });

const convArb = fc.record({
  N: fc.integer({ min: 1, max: 3 }),
  G: fc.integer({ min: 1, max: 3 }),
  Cg: fc.integer({ min: 1, max: 5 }),
  Og: fc.integer({ min: 1, max: 6 }),
  KH: fc.integer({ min: 1, max: 4 }), KW: fc.integer({ min: 1, max: 4 }),
  SH: fc.integer({ min: 1, max: 3 }), SW: fc.integer({ min: 1, max: 3 }),
  DH: fc.integer({ min: 1, max: 2 }), DW: fc.integer({ min: 1, max: 2 }),
  PH: fc.integer({ min: 0, max: 2 }), PW: fc.integer({ min: 0, max: 2 }),
  H: fc.integer({ min: 1, max: 20 }), W: fc.integer({ min: 1, max: 70 }),
  bias: fc.boolean(),
  same: fc.boolean(),
  data: fc.integer(),
}).filter((c) => c.same
  ? true
  : c.H + 2 * c.PH >= c.DH * (c.KH - 1) + 1 && c.W + 2 * c.PW >= c.DW * (c.KW - 1) + 1);

describe('properties', () => {
  beforeAll(async () => { await init({ threads: 1, replace: true }); });

  it('conv2d forward and gradients match the reference for random shapes and options', () => {
    fc.assert(fc.property(convArb, (c) => {
      const same = c.same;
      const opts = same
        ? { padding: 'same' as const, dilation: [c.DH, c.DW] as [number, number], groups: c.G }
        : { stride: [c.SH, c.SW] as [number, number], padding: [c.PH, c.PW] as [number, number], dilation: [c.DH, c.DW] as [number, number], groups: c.G };
      const xs = [c.N, c.Cg * c.G, c.H, c.W], ws = [c.Og * c.G, c.Cg, c.KH, c.KW];
      const g = conv2dInfo(xs, ws, opts);
      const rng = new Rng(c.data);
      const x = randomArray(g.N * g.C * g.H * g.W, rng), w = randomArray(g.O * c.Cg * c.KH * c.KW, rng);
      const b = randomArray(g.O, rng), dy = randomArray(g.N * g.O * g.OH * g.OW, rng);
      const got = tidy(() => {
        const xt = tensor(x, xs, { requiresGrad: true }), wt = tensor(w, ws, { requiresGrad: true });
        const bt = c.bias ? tensor(b, [g.O], { requiresGrad: true }) : null;
        const y = conv2d(xt, wt, { ...opts, bias: bt });
        const yv = y.data();
        y.backward(tensor(dy, y.shape));
        return { y: yv, dx: xt.grad!.data(), dw: wt.grad!.data(), db: bt ? bt.grad!.data() : null };
      });
      const y = new Float64Array(got.y.length), dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(g.O);
      conv2dForwardRef(g, x, w, c.bias ? b : null, y);
      conv2dBackwardInputRef(g, dy, w, dx);
      conv2dBackwardWeightRef(g, x, dy, dw);
      conv2dBackwardBiasRef(g, dy, db);
      expectClose(got.y, y, TOL.f32, 'forward');
      expectClose(got.dx, dx, TOL.f32, 'input gradient');
      expectClose(got.dw, dw, TOL.f32, 'weight gradient');
      if (got.db) expectClose(got.db, db, TOL.f32, 'bias gradient');
    }), params(60));
  });

  type Cmd = { kind: 'create'; n: number } | { kind: 'op'; a: number; b: number } | { kind: 'dispose'; a: number } | { kind: 'tidy'; n: number; keep: boolean };
  const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
    fc.record({ kind: fc.constant('create' as const), n: fc.integer({ min: 1, max: 300 }) }),
    fc.record({ kind: fc.constant('op' as const), a: fc.nat(), b: fc.nat() }),
    fc.record({ kind: fc.constant('dispose' as const), a: fc.nat() }),
    fc.record({ kind: fc.constant('tidy' as const), n: fc.integer({ min: 1, max: 5 }), keep: fc.boolean() }),
  );

  it('random create/op/dispose/tidy sequences keep memory() consistent', () => {
    fc.assert(fc.property(fc.array(cmdArb, { maxLength: 40 }), (cmds) => {
      const base = memory();
      const live: Tensor[] = [];
      const bytes = () => live.reduce((s, t) => s + t.size * 4, 0);
      for (const cmd of cmds) {
        if (cmd.kind === 'create') live.push(ones([cmd.n]));
        else if (cmd.kind === 'op' && live.length) {
          const a = live[cmd.a % live.length], b = live[cmd.b % live.length];
          if (a.size === b.size) live.push(tidy(() => a.add(b).mul(2)));
          else live.push(a.sum());
        } else if (cmd.kind === 'dispose' && live.length) {
          const [t] = live.splice(cmd.a % live.length, 1);
          t.dispose();
          t.dispose(); // harmless twice
          expect(() => t.toArray()).toThrow(/was disposed/);
        } else if (cmd.kind === 'tidy') {
          const kept = tidy(() => {
            const made = Array.from({ length: cmd.n }, (_, i) => ones([i + 1]).mul(3));
            return cmd.keep ? made[0] : undefined;
          });
          if (kept) live.push(kept);
        }
        const m = memory();
        expect(m.tensors).toBe(base.tensors + live.length);
        expect(m.bytes).toBe(base.bytes + bytes());
      }
      for (const t of live) expect(t.data().every((v) => Number.isFinite(v))).toBe(true);
      for (const t of live) t.dispose();
      expect(memory().tensors).toBe(base.tensors);
      expect(memory().bytes).toBe(base.bytes);
    }), params(100));
  });
});
