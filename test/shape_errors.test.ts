// Every bad argument of squeeze, unsqueeze, slice, narrow, select, indexSelect,
// cat, stack, var and std: the error class, the values the message must name,
// and what must hold afterwards (inputs unchanged, memory() unchanged, no
// WebAssembly.RuntimeError, the engine still working).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  init, tensor, zeros, memory, tidy, squeeze, unsqueeze, slice, narrow, select, indexSelect, cat, stack, std,
  var as variance, ShapeError, DisposedError, type Tensor,
} from '../src/index';

type ErrorClass = new (...args: never[]) => Error;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const A = (v: unknown): any => v;

interface Fixtures { x: Tensor; s: Tensor; v: Tensor; dead: Tensor; i2: Tensor; x214: Tensor; x235: Tensor; e0: Tensor }
let F: Fixtures;

const ROWS: Array<[string, ErrorClass, Array<string | RegExp>, (f: Fixtures) => unknown]> = [
  // squeeze, unsqueeze
  ['squeeze: x not a tensor', TypeError, ['squeeze', 'x must be a Tensor', 'an Array'], () => squeeze(A([1, 2]))],
  ['squeeze: x disposed', DisposedError, ['squeeze', /#\d+/, 'disposed'], (f) => squeeze(f.dead)],
  ['squeeze: dim out of range', RangeError, ['squeeze', '[-3, 2]', 'got 3'], (f) => squeeze(f.x, 3)],
  ['squeeze: dim fractional', RangeError, ['squeeze', 'got 1.5'], (f) => squeeze(f.x, 1.5)],
  ['squeeze: dim a string', TypeError, ['squeeze', 'dim must be an integer or an array', 'the string "1"'], (f) => squeeze(f.x, A('1'))],
  ['squeeze: dim list repeats', RangeError, ['squeeze', 'dim 0 appears more than once', '[0, -3]'], (f) => squeeze(f.x, [0, -3])],
  ['squeeze: dim list entry out of range', RangeError, ['squeeze', 'got 5'], (f) => squeeze(f.x, [0, 5])],
  ['unsqueeze: dim above ndim', RangeError, ['unsqueeze', '[-4, 3]', 'got 4'], (f) => unsqueeze(f.x, 4)],
  ['unsqueeze: dim below -ndim - 1', RangeError, ['unsqueeze', 'got -5'], (f) => unsqueeze(f.x, -5)],
  ['unsqueeze: dim missing', RangeError, ['unsqueeze', 'got undefined'], (f) => unsqueeze(f.x, A(undefined))],
  // slice
  ['slice: 0-d tensor', ShapeError, ['slice', '0-d'], (f) => slice(f.s, 0, 1)],
  ['slice: start fractional', RangeError, ['slice', 'start must be an integer', '1.5'], (f) => slice(f.x, 1.5)],
  ['slice: start a string', TypeError, ['slice', 'start must be an integer', 'the string "1"'], (f) => slice(f.x, A('1'))],
  ['slice: end NaN', RangeError, ['slice', 'end must be an integer', 'NaN'], (f) => slice(f.x, 0, NaN)],
  ['slice: x not a tensor', TypeError, ['slice', 'x must be a Tensor'], () => slice(A(3), 0)],
  // narrow
  ['narrow: 0-d tensor', ShapeError, ['narrow', '0-d'], (f) => narrow(f.s, 0, 0, 1)],
  ['narrow: dim out of range', RangeError, ['narrow', 'got 3'], (f) => narrow(f.x, 3, 0, 1)],
  ['narrow: start above the size', RangeError, ['narrow', 'start 4', 'dimension 1 of size 3', '[-3, 3]'], (f) => narrow(f.x, 1, 4, 0)],
  ['narrow: start below -size', RangeError, ['narrow', 'start -5', 'size 4'], (f) => narrow(f.x, 2, -5, 1)],
  ['narrow: start + length past the end', RangeError, ['narrow', 'start (2) + length (3)', 'dimension 0 of size 2', '[2, 3, 4]'], (f) => narrow(f.x, 0, 2, 3)],
  ['narrow: negative length', RangeError, ['narrow', 'start (0) + length (-1)'], (f) => narrow(f.x, 0, 0, -1)],
  ['narrow: length fractional', RangeError, ['narrow', 'length must be an integer', '0.5'], (f) => narrow(f.x, 0, 0, 0.5)],
  ['narrow: start missing', TypeError, ['narrow', 'start must be an integer', 'undefined'], (f) => narrow(f.x, 0, A(undefined), 1)],
  // select
  ['select: 0-d tensor', ShapeError, ['select', '0-d'], (f) => select(f.s, 0, 0)],
  ['select: index equal to the size', RangeError, ['select', 'index 3', 'dimension 1 of size 3'], (f) => select(f.x, 1, 3)],
  ['select: index below -size', RangeError, ['select', 'index -4', 'size 3'], (f) => select(f.x, 1, -4)],
  ['select: index fractional', RangeError, ['select', 'index must be an integer', '1.5'], (f) => select(f.x, 0, 1.5)],
  ['select: dim out of range', RangeError, ['select', 'got -4'], (f) => select(f.x, -4, 0)],
  // indexSelect
  ['indexSelect: x not a tensor', TypeError, ['indexSelect', 'x must be a Tensor'], () => indexSelect(A(null), 0, [0])],
  ['indexSelect: dim out of range', RangeError, ['indexSelect', '[-3, 2]', 'got 3'], (f) => indexSelect(f.x, 3, [0])],
  ['indexSelect: index out of range', RangeError, ['indexSelect', 'index 3 (index[2])', 'dimension 1 of size 3', '[2, 3, 4]'], (f) => indexSelect(f.x, 1, [0, 2, 3])],
  ['indexSelect: negative index', RangeError, ['indexSelect', 'index -1 (index[0])', 'of size 2'], (f) => indexSelect(f.x, 0, [-1])],
  ['indexSelect: fractional index', RangeError, ['indexSelect', 'index[1] must be a whole number', '0.5'], (f) => indexSelect(f.x, 0, [1, 0.5])],
  ['indexSelect: NaN index', RangeError, ['indexSelect', 'index[0] must be a whole number', 'NaN'], (f) => indexSelect(f.x, 0, [NaN])],
  ['indexSelect: index entry a string', TypeError, ['indexSelect', 'index[0] must be an integer', 'the string "0"'], (f) => indexSelect(f.x, 0, A(['0']))],
  ['indexSelect: index a string', TypeError, ['indexSelect', 'index must be a Tensor, an Int32Array or an array', 'the string "0"'], (f) => indexSelect(f.x, 0, A('0'))],
  ['indexSelect: index a Float32Array', TypeError, ['indexSelect', 'index must be a Tensor', 'a Float32Array'], (f) => indexSelect(f.x, 0, A(new Float32Array([0])))],
  ['indexSelect: Int32Array index out of range', RangeError, ['indexSelect', 'index 4 (index[1])', 'size 4'], (f) => indexSelect(f.x, 2, new Int32Array([0, 4]))],
  ['indexSelect: detached Int32Array', TypeError, ['indexSelect', 'detached'], (f) => {
    const a = new Int32Array([0]);
    structuredClone(a.buffer, { transfer: [a.buffer] });
    return indexSelect(f.x, 0, a);
  }],
  ['indexSelect: 2-D index tensor', ShapeError, ['indexSelect', 'index must be a 0-d or 1-D tensor', '[1, 2]'], (f) => indexSelect(f.x, 0, f.i2)],
  ['indexSelect: index tensor out of range', RangeError, ['indexSelect', 'index 2 (index[0])', 'size 2'], (f) => indexSelect(f.x, 0, f.v)],
  ['indexSelect: disposed index tensor', DisposedError, ['indexSelect', 'disposed'], (f) => indexSelect(f.x, 0, f.dead)],
  ['indexSelect: 0-d x with two indices', ShapeError, ['indexSelect', 'exactly one index', 'got 2'], (f) => indexSelect(f.s, 0, [0, 0])],
  ['indexSelect: 0-d x with index 1', RangeError, ['indexSelect', 'index 1 (index[0])', 'size 1'], (f) => indexSelect(f.s, 0, [1])],
  ['Tensor.indexSelect: index out of range', RangeError, ['indexSelect', 'index 9'], (f) => f.x.indexSelect(0, [9])],
  // cat
  ['cat: not an array', TypeError, ['cat', 'tensors must be an array of Tensors', /Tensor/], (f) => cat(A(f.x))],
  ['cat: empty array', RangeError, ['cat', 'non-empty'], () => cat([])],
  ['cat: an element not a tensor', TypeError, ['cat', 'tensors[1] must be a Tensor', '5'], (f) => cat([f.x, A(5)])],
  ['cat: a disposed element', DisposedError, ['cat', 'disposed'], (f) => cat([f.x, f.dead])],
  ['cat: a 0-d tensor', ShapeError, ['cat', 'zero-dimensional', 'tensors[1]'], (f) => cat([f.v, f.s])],
  ['cat: different ranks', ShapeError, ['cat', 'same number of dimensions', 'got 3', '(tensors[0]', 'and 1 (tensors[1]'], (f) => cat([f.x, f.v])],
  ['cat: sizes differ outside dim', ShapeError, ['cat', 'except in dimension 0', 'expected size 3 but got size 1 in dimension 1', 'tensors[1]'], (f) => cat([f.x, f.x214])],
  ['cat: dim out of range', RangeError, ['cat', '[-3, 2]', 'got 3'], (f) => cat([f.x, f.x], 3)],
  ['cat: dim fractional', RangeError, ['cat', 'got 0.5'], (f) => cat([f.x, f.x], 0.5)],
  ['cat: dim a string with only empty tensors', TypeError, ['cat', 'dim must be an integer'], (f) => cat([f.e0], A('0'))],
  // stack
  ['stack: empty array', RangeError, ['stack', 'non-empty'], () => stack([])],
  ['stack: shapes differ', ShapeError, ['stack', 'tensors[0] has shape [2, 3, 4]', 'tensors[2] has shape [2, 3, 5]'], (f) => stack([f.x, f.x, f.x235])],
  ['stack: dim above ndim', RangeError, ['stack', '[-4, 3]', 'got 4'], (f) => stack([f.x, f.x], 4)],
  ['stack: an element not a tensor', TypeError, ['stack', 'tensors[0] must be a Tensor', 'null'], () => stack([A(null)])],
  // var, std
  ['var: options not an object', TypeError, ['var', 'options must be an object', '1'], (f) => variance(f.x, 0, A(1))],
  ['var: correction NaN', TypeError, ['var', 'correction must be a finite number', 'NaN'], (f) => variance(f.x, 0, { correction: NaN })],
  ['var: correction a string', TypeError, ['var', 'correction must be a finite number', 'the string "1"'], (f) => variance(f.x, 0, A({ correction: '1' }))],
  ['var: correction and unbiased together', TypeError, ['var', 'either correction (1) or unbiased (true), not both'], (f) => variance(f.x, 0, { correction: 1, unbiased: true })],
  ['var: unbiased not a boolean', TypeError, ['var', 'unbiased must be a boolean', '1'], (f) => variance(f.x, 0, A({ unbiased: 1 }))],
  ['var: keepdim not a boolean', TypeError, ['var', 'keepdim must be a boolean', 'the string "yes"'], (f) => variance(f.x, 0, A({ keepdim: 'yes' }))],
  ['var: dim repeated', RangeError, ['var', 'dim 1 appears more than once'], (f) => variance(f.x, [1, -2])],
  ['var: dim out of range', RangeError, ['var', 'got 3'], (f) => variance(f.x, 3)],
  ['std: correction Infinity', TypeError, ['std', 'correction must be a finite number', 'Infinity'], (f) => std(f.x, null, { correction: Infinity })],
  ['std: x not a tensor', TypeError, ['std', 'x must be a Tensor'], () => std(A([1, 2]))],
  ['Tensor.var: dim out of range', RangeError, ['var', 'got -4'], (f) => f.x.var(-4)],
];

describe('shape ops: bad arguments', () => {
  beforeAll(async () => {
    await init({ threads: 1, replace: true });
    const dead = zeros([2, 3]);
    dead.dispose();
    F = {
      x: tensor(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4], { requiresGrad: true }),
      s: tensor(5), v: tensor([2, 0]), dead, i2: tensor([[0, 1]]), x214: zeros([2, 1, 4]), x235: zeros([2, 3, 5]), e0: zeros([0]),
    };
  });
  afterAll(() => { for (const t of Object.values(F)) t.dispose(); });

  for (const [name, error, contains, make] of ROWS) {
    it(name, () => {
      const live = [F.x, F.s, F.v, F.i2];
      const before = live.map((t) => t.data());
      const versions = live.map((t) => t.version);
      const mem = memory();
      let thrown: unknown = null;
      try { make(F); } catch (e) { thrown = e; }
      expect(thrown, `${name}: throws`).toBeInstanceOf(error);
      expect(thrown).not.toBeInstanceOf(WebAssembly.RuntimeError);
      const msg = (thrown as Error).message;
      for (const c of contains) {
        if (typeof c === 'string') expect(msg, name).toContain(c);
        else expect(msg, name).toMatch(c);
      }
      // Nothing allocated or left behind (the rows' own fixtures aside), inputs unchanged.
      const after = memory();
      expect(after.tensors, `${name}: tensors`).toBe(mem.tensors);
      expect(after.bytes, `${name}: bytes`).toBe(mem.bytes);
      live.forEach((t, i) => {
        expect(t.data(), `${name}: input ${i} unchanged`).toEqual(before[i]);
        expect(t.version, `${name}: input ${i} version`).toBe(versions[i]);
      });
      // The engine still works.
      expect(tidy(() => indexSelect(F.x, 0, [1]).shape)).toEqual([1, 3, 4]);
    });
  }
});
