// Every bad call across the public API, in one table: the error class, the
// values the message must name, and what must hold afterwards (inputs
// unchanged, memory() unchanged, no WebAssembly.RuntimeError, engine working).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  init, tensor, zeros, ones, full, rand, randn, manualSeed, tidy, memory, backward,
  add, sub, mul, div, neg, square, pow, relu, sum, mean, reshape, corr2d, conv2d,
  nn, optim, fit, Tensor,
  ShapeError, DisposedError, NotInitializedError, AutogradError, WasmconvError,
} from '../src/index';

type ErrorClass = new (...args: never[]) => Error;

/** What a row's `make` returns: the bad call, the tensors it must leave unchanged, cleanup. */
interface Prepared {
  call: () => unknown;
  /** Tensors whose data must be identical afterwards (besides the shared fixtures). */
  inputs?: Tensor[];
  cleanup?: () => void;
  /** More substrings the message must contain, known only once the row is built (e.g. a tensor id). */
  contains?: Array<string | RegExp>;
}

interface Row {
  name: string;
  error: ErrorClass;
  /** Substrings (or patterns) the message must contain: the function and the offending values. */
  contains: Array<string | RegExp>;
  /** Builds what the call needs (before memory() is read) and returns the call. */
  make: (f: Fixtures) => Prepared | (() => unknown);
}

/** Tensors shared by the rows; they must never change. */
interface Fixtures {
  x: Tensor;      // [1, 1, 4, 4], 0..15
  w: Tensor;      // [1, 1, 2, 2], [1, 2, 3, 4]
  x3: Tensor;     // [1, 3, 4, 4]
  w32: Tensor;    // [1, 2, 2, 2]
  X: Tensor;      // [3, 3], the chapter's
  K: Tensor;      // [2, 2], the chapter's
  v: Tensor;      // [3]
  wg: Tensor;     // [2, 2], requires grad
  dead: Tensor;   // [2, 3], disposed
}

let F: Fixtures;

// Each row's call; `any` lets the table pass values of the wrong type on purpose.
/* eslint-disable @typescript-eslint/no-explicit-any */
const A = (v: unknown): any => v;

/** A small graph: y = conv2d(x, w) with x, w requiring grad; y has shape [1, 1, 3, 3]. */
function graph(): { x: Tensor; w: Tensor; y: Tensor; all: Tensor[] } {
  const x = tensor(Array.from({ length: 16 }, (_, i) => i / 10), [1, 1, 4, 4], { requiresGrad: true });
  const w = tensor([1, -1, 0.5, 2], [1, 1, 2, 2], { requiresGrad: true });
  const y = conv2d(x, w);
  return { x, w, y, all: [x, w, y] };
}

/** A PyTorch-form layer with fixed weights, freed by cleanup. */
function layer(...args: ConstructorParameters<typeof nn.Conv2D>): { m: nn.Conv2D; prepared: (call: (m: nn.Conv2D) => unknown, extra?: Tensor[]) => Prepared } {
  const m = new (nn.Conv2D as any)(...args) as nn.Conv2D;
  return {
    m,
    prepared: (call, extra = []) => ({
      call: () => call(m),
      inputs: [...m.parameters(), ...extra],
      cleanup: () => { m.dispose(); for (const t of extra) t.dispose(); },
    }),
  };
}

const disposedMsg = (fn: string): Array<string | RegExp> => [fn, /#\d+/, 'disposed'];

const ROWS: Row[] = [
  // ---- creation -----------------------------------------------------------
  { name: 'tensor: shape with a negative entry', error: RangeError, contains: ['tensor', '[-1, 2]'],
    make: () => () => tensor([1, 2], [-1, 2]) },
  { name: 'tensor: shape with a fractional entry', error: RangeError, contains: ['tensor', '[2.5, 2]'],
    make: () => () => tensor([1, 2, 3, 4, 5], [2.5, 2]) },
  { name: 'zeros: shape with a fractional entry', error: RangeError, contains: ['zeros', '[2, 1.5]'],
    make: () => () => zeros([2, 1.5]) },
  { name: 'ones: shape with NaN', error: RangeError, contains: ['ones', '[NaN]'],
    make: () => () => ones([NaN]) },
  { name: 'full: shape with Infinity', error: RangeError, contains: ['full', '[Infinity, 1]'],
    make: () => () => full([Infinity, 1], 0) },
  { name: 'rand: shape with a negative entry', error: RangeError, contains: ['rand', '[3, -2]'],
    make: () => () => rand([3, -2]) },
  { name: 'randn: shape that is not an array', error: TypeError, contains: ['randn', '5'],
    make: () => () => randn(A(5)) },
  { name: 'zeros: more elements than supported', error: RangeError, contains: ['zeros', '[65536, 65536]'],
    make: () => () => zeros([65536, 65536]) },
  { name: 'tensor: data length does not match the shape', error: ShapeError, contains: ['tensor', '3 values', '[2, 2]'],
    make: () => () => tensor([1, 2, 3], [2, 2]) },
  { name: 'tensor: Float32Array length does not match the shape', error: ShapeError, contains: ['tensor', '5', '[2, 3]'],
    make: () => () => tensor(new Float32Array(5), [2, 3]) },
  { name: 'tensor: nested data does not match an explicit shape', error: ShapeError, contains: ['tensor', '4', '[3, 3]'],
    make: () => () => tensor([[1, 2], [3, 4]], [3, 3]) },
  { name: 'tensor: non-numeric element', error: TypeError, contains: ['tensor', '[0, 1]', '"a"'],
    make: () => () => tensor(A([[1, 'a'], [3, 4]])) },
  { name: 'tensor: null element', error: TypeError, contains: ['tensor', '[1]', 'null'],
    make: () => () => tensor(A([1, null])) },
  { name: 'tensor: a string as data', error: TypeError, contains: ['tensor', '"abc"'],
    make: () => () => tensor(A('abc')) },
  { name: 'tensor: ragged nested array', error: ShapeError, contains: ['tensor', 'ragged', '[1]', 'length 1', 'expected length 2'],
    make: () => () => tensor([[1, 2], [3]]) },
  { name: 'tensor: ragged at depth 3', error: ShapeError, contains: ['tensor', 'ragged', '[1, 0]', 'length 3', 'expected length 2'],
    make: () => () => tensor([[[1, 2], [3, 4]], [[5, 6, 7], [8, 9]]]) },
  { name: 'tensor: requiresGrad not a boolean', error: TypeError, contains: ['tensor', 'requiresGrad', 'yes'],
    make: () => () => tensor([1], undefined, A({ requiresGrad: 'yes' })) },
  { name: 'zeros: requiresGrad not a boolean', error: TypeError, contains: ['zeros', 'requiresGrad', '1'],
    make: () => () => zeros([2], A({ requiresGrad: 1 })) },
  { name: 'full: value not a number', error: TypeError, contains: ['full', '"x"'],
    make: () => () => full([2], A('x')) },
  { name: 'rand: fractional seed', error: TypeError, contains: ['rand', 'seed', '1.5'],
    make: () => () => rand([2], { seed: 1.5 }) },
  { name: 'manualSeed: NaN', error: TypeError, contains: ['manualSeed', 'NaN'],
    make: () => () => manualSeed(NaN) },

  // ---- Tensor methods -----------------------------------------------------
  { name: 'reshape to a wrong size', error: ShapeError, contains: ['reshape', '[3, 5]', '16', '[1, 1, 4, 4]'],
    make: (f) => () => f.x.reshape([3, 5]) },
  { name: 'reshape with -1 that does not divide', error: ShapeError, contains: ['reshape', '[3, -1]', '16'],
    make: (f) => () => f.x.reshape([3, -1]) },
  { name: 'reshape with two -1', error: RangeError, contains: ['reshape', '[-1, -1]'],
    make: (f) => () => reshape(f.x, [-1, -1]) },
  { name: 'reshape with a fractional entry', error: RangeError, contains: ['reshape', '[0.5, 32]'],
    make: (f) => () => f.x.reshape([0.5, 32]) },
  { name: 'item() on a multi-element tensor', error: ShapeError, contains: ['item', '[1, 1, 4, 4]'],
    make: (f) => () => f.x.item() },
  { name: 'assign: wrong number of values', error: ShapeError, contains: ['assign', '4 values', '[3]'],
    make: (f) => () => f.v.assign([1, 2, 3, 4]) },
  { name: 'assign: a tensor of another size', error: ShapeError, contains: ['assign', '4', '[3]'],
    make: (f) => () => f.v.assign(f.w) },
  { name: 'assign: non-numeric value', error: TypeError, contains: ['assign', '"b"'],
    make: (f) => () => f.v.assign(A([1, 'b', 3])) },

  // ---- element-wise ops ---------------------------------------------------
  { name: 'add: shapes that do not broadcast', error: ShapeError, contains: ['add', '[1, 1, 4, 4]', '[3]'],
    make: (f) => () => add(f.x, f.v) },
  { name: 'mul: a string operand', error: TypeError, contains: ['mul', 'string'],
    make: (f) => () => mul(f.x, A('2')) },
  { name: 'sub: null operand', error: TypeError, contains: ['sub', 'null'],
    make: (f) => () => sub(f.x, A(null)) },
  { name: 'pow: non-numeric exponent', error: TypeError, contains: ['pow', 'string'],
    make: (f) => () => pow(f.x, A('2')) },

  // ---- corr2d -------------------------------------------------------------
  { name: 'corr2d: X is not 2-D', error: ShapeError, contains: ['corr2d', '[1, 1, 4, 4]'],
    make: (f) => () => corr2d(f.x, f.K) },
  { name: 'corr2d: K is not 2-D', error: ShapeError, contains: ['corr2d', '[3]'],
    make: (f) => () => corr2d(f.X, f.v) },
  { name: 'corr2d: kernel larger than the input', error: ShapeError, contains: ['corr2d', '[2, 2]', '[3, 3]'],
    make: (f) => () => corr2d(f.K, f.X) },
  { name: 'corr2d: a nested array instead of a tensor', error: TypeError, contains: ['corr2d', 'Array'],
    make: (f) => () => corr2d(A([[0, 1], [2, 3]]), f.K) },

  // ---- conv2d: ranks, channels, groups ------------------------------------
  { name: 'conv2d: 2-D input', error: ShapeError, contains: ['conv2d', 'input', '[3, 3]'],
    make: (f) => () => conv2d(f.X, f.w) },
  { name: 'conv2d: 5-D input', error: ShapeError, contains: ['conv2d', 'input', '[1, 1, 1, 4, 4]'],
    make: (f) => ({ call: () => conv2d(t5, f.w), inputs: [t5 = zeros([1, 1, 1, 4, 4])], cleanup: () => t5.dispose() }) },
  { name: 'conv2d: 2-D weight', error: ShapeError, contains: ['conv2d', 'weight', '[2, 2]'],
    make: (f) => () => conv2d(f.x, f.K) },
  { name: 'conv2d: channel mismatch', error: ShapeError, contains: ['conv2d', '3 channels', '[1, 2, 2, 2]', '[1, 3, 4, 4]'],
    make: (f) => () => conv2d(f.x3, f.w32) },
  { name: 'conv2d: groups do not divide the input channels', error: ShapeError, contains: ['conv2d', 'groups (2)', '3', '[1, 3, 4, 4]'],
    make: (f) => ({ call: () => conv2d(f.x3, wg3, { groups: 2 }), inputs: [wg3 = zeros([4, 1, 2, 2])], cleanup: () => wg3.dispose() }) },
  { name: 'conv2d: groups do not divide the output channels', error: ShapeError, contains: ['conv2d', 'groups (2)', '(3)', '[3, 1, 2, 2]'],
    make: () => ({ call: () => conv2d(x2, w31, { groups: 2 }), inputs: [x2 = zeros([1, 2, 4, 4]), w31 = zeros([3, 1, 2, 2])],
      cleanup: () => { x2.dispose(); w31.dispose(); } }) },
  { name: 'conv2d: groups 0', error: RangeError, contains: ['conv2d', 'groups', '0'],
    make: (f) => () => conv2d(f.x, f.w, { groups: 0 }) },
  { name: 'conv2d: groups 1.5', error: RangeError, contains: ['conv2d', 'groups', '1.5'],
    make: (f) => () => conv2d(f.x, f.w, { groups: 1.5 }) },
  { name: 'conv2d: kernel larger than the input', error: ShapeError, contains: ['conv2d', '5', '4', '[1, 1, 5, 5]', '[1, 1, 4, 4]'],
    make: (f) => ({ call: () => conv2d(f.x, w55, {}), inputs: [w55 = zeros([1, 1, 5, 5])], cleanup: () => w55.dispose() }) },
  { name: 'conv2d: kernel larger than the padded input (width)', error: ShapeError, contains: ['conv2d', 'width', '7', '6', 'padding [0, 1]'],
    make: (f) => ({ call: () => conv2d(f.x, w17, { padding: [0, 1] }), inputs: [w17 = zeros([1, 1, 1, 7])], cleanup: () => w17.dispose() }) },
  { name: 'conv2d: dilated kernel larger than the input', error: ShapeError, contains: ['conv2d', 'dilated', '5', '4'],
    make: (f) => () => conv2d(f.x, f.w, { dilation: 4 }) },
  { name: 'conv2d: bias of the wrong shape', error: ShapeError, contains: ['conv2d', 'bias', '[1]', '[3]'],
    make: (f) => () => conv2d(f.x, f.w, { bias: f.v }) },
  { name: 'conv2d: bias not a tensor', error: TypeError, contains: ['conv2d', 'bias', 'Array'],
    make: (f) => () => conv2d(f.x, f.w, { bias: A([1]) }) },
  { name: 'conv2d: options not an object', error: TypeError, contains: ['conv2d', 'options', '5'],
    make: (f) => () => conv2d(f.x, f.w, A(5)) },

  // ---- conv2d: stride, padding, dilation ----------------------------------
  ...([
    ['stride', 0, '0'], ['stride', -1, '-1'], ['stride', 1.5, '1.5'], ['stride', NaN, 'NaN'], ['stride', Infinity, 'Infinity'],
    ['stride', [1, 0], '[1, 0]'], ['stride', [2, -3], '[2, -3]'], ['stride', [1, 2, 3], '[1, 2, 3]'],
    ['padding', -1, '-1'], ['padding', 0.5, '0.5'], ['padding', NaN, 'NaN'], ['padding', Infinity, 'Infinity'],
    ['padding', [1, -1], '[1, -1]'], ['padding', [1], '[1]'], ['padding', 'full', '"full"'],
    ['dilation', 0, '0'], ['dilation', -2, '-2'], ['dilation', 1.5, '1.5'], ['dilation', NaN, 'NaN'],
    ['dilation', Infinity, 'Infinity'], ['dilation', [0, 1], '[0, 1]'],
  ] as Array<[string, unknown, string]>).map(([opt, value, shown]): Row => ({
    name: `conv2d: ${opt} ${shown}`, error: RangeError, contains: ['conv2d', opt, shown],
    make: (f) => () => conv2d(f.x, f.w, { [opt]: value }),
  })),
  { name: 'conv2d: stride as a string', error: TypeError, contains: ['conv2d', 'stride', '"2"'],
    make: (f) => () => conv2d(f.x, f.w, { stride: A('2') }) },
  { name: "conv2d: padding 'same' with stride 2", error: RangeError, contains: ['conv2d', "'same'", 'stride', '[2, 2]'],
    make: (f) => () => conv2d(f.x, f.w, { padding: 'same', stride: 2 }) },

  // ---- disposed tensors, every op -----------------------------------------
  ...([
    ['data', (d: Tensor) => d.data()],
    ['toArray', (d: Tensor) => d.toArray()],
    ['item', (d: Tensor) => d.item()],
    ['reshape', (d: Tensor) => d.reshape([6])],
    ['assign', (d: Tensor) => d.assign([1, 2, 3, 4, 5, 6])],
    ['add', (d: Tensor) => add(d, 1)],
    ['sub', (d: Tensor) => sub(1, d)],
    ['mul', (d: Tensor) => F.v.mul(d)],
    ['div', (d: Tensor) => div(d, d)],
    ['neg', (d: Tensor) => neg(d)],
    ['square', (d: Tensor) => square(d)],
    ['pow', (d: Tensor) => pow(d, 2)],
    ['relu', (d: Tensor) => relu(d)],
    ['sum', (d: Tensor) => sum(d)],
    ['mean', (d: Tensor) => mean(d)],
    ['detach', (d: Tensor) => d.detach()],
    ['backward', (d: Tensor) => d.backward()],
    ['corr2d', (d: Tensor) => corr2d(d, F.K)],
    ['corr2d', (d: Tensor) => corr2d(F.X, d)],
    ['conv2d', (d: Tensor) => conv2d(d, F.w)],
    ['conv2d', (d: Tensor) => conv2d(F.x, d)],
    ['conv2d', (d: Tensor) => conv2d(F.x, F.w, { bias: d })],
    ['mseLoss', (d: Tensor) => nn.mseLoss(d, F.dead)],
    ['SGD', (d: Tensor) => new optim.SGD([d])],
    ['Adam', (d: Tensor) => new optim.Adam([d])],
    ['assign', (d: Tensor) => F.v.assign(d)],
  ] as Array<[string, (d: Tensor) => unknown]>).map(([fn, call], i): Row => ({
    name: `disposed tensor: ${fn} #${i}`, error: DisposedError, contains: disposedMsg(fn),
    make: (f) => () => call(f.dead),
  })),
  { name: 'disposed tensor: backward with a disposed gradient', error: DisposedError, contains: disposedMsg('backward'),
    make: () => { const g = graph(); return { call: () => g.y.backward(F.dead), inputs: g.all, cleanup: () => g.all.forEach((t) => t.dispose()) }; } },
  { name: 'disposed tensor: Conv2D.forward after the layer was disposed', error: DisposedError, contains: disposedMsg('conv2d'),
    make: (f) => { const m = new nn.Conv2D(1, 1, 2); m.dispose(); return () => m.forward(f.x); } },
  { name: "disposed tensor: the chapter's Conv2D.forward after dispose", error: DisposedError, contains: [/#\d+/, 'disposed'],
    make: (f) => { const m = new nn.Conv2D([2, 2]); m.dispose(); return () => m.forward(f.X); } },
  { name: 'disposed tensor: fit with a disposed x', error: DisposedError, contains: disposedMsg('fit'),
    make: (f) => layer(1, 1, 2).prepared((m) => fit(m, f.dead, f.x, { epochs: 1 })) },

  // ---- autograd -----------------------------------------------------------
  { name: 'backward on a non-scalar without a gradient', error: AutogradError, contains: ['backward', '[1, 1, 3, 3]'],
    make: () => { const g = graph(); return { call: () => g.y.backward(), inputs: g.all, cleanup: () => g.all.forEach((t) => t.dispose()) }; } },
  { name: 'backward with a gradient of the wrong shape (tensor)', error: ShapeError, contains: ['backward', '[2, 2]', '[1, 1, 3, 3]'],
    make: () => { const g = graph(); const gr = ones([2, 2]);
      return { call: () => g.y.backward(gr), inputs: [...g.all, gr], cleanup: () => [...g.all, gr].forEach((t) => t.dispose()) }; } },
  { name: 'backward with a gradient of the wrong size (array)', error: ShapeError, contains: ['backward', '[4]', '[1, 1, 3, 3]'],
    make: () => { const g = graph(); return { call: () => backward(g.y, [1, 2, 3, 4]), inputs: g.all, cleanup: () => g.all.forEach((t) => t.dispose()) }; } },
  { name: 'backward with a non-numeric gradient', error: TypeError, contains: ['backward', '"g"'],
    make: () => { const g = graph(); return { call: () => g.y.backward(A([['g']])), inputs: g.all, cleanup: () => g.all.forEach((t) => t.dispose()) }; } },
  { name: 'backward twice', error: AutogradError, contains: ['backward', /#\d+/, 'already'],
    make: () => {
      const g = graph();
      const l = g.y.sum();
      l.backward();
      const all = [...g.all, l, g.x.grad!, g.w.grad!];
      return { call: () => l.backward(), inputs: all, cleanup: () => all.forEach((t) => t.dispose()) };
    } },
  { name: 'backward after a conv2d input of the graph was disposed', error: DisposedError, contains: ['backward', 'disposed'],
    make: () => {
      const g = graph();
      const l = g.y.sum();
      g.x.dispose();
      return { call: () => l.backward(), inputs: [g.w, g.y, l], contains: [`#${g.x.id}`],
        cleanup: () => [g.w, g.y, l].forEach((t) => t.dispose()) };
    } },
  { name: 'backward after a leaf of the graph was disposed', error: DisposedError, contains: ['backward', 'disposed'],
    make: () => {
      const a = tensor([1, 2], undefined, { requiresGrad: true });
      const l = a.mul(3).sum();
      a.dispose();
      return { call: () => l.backward(), inputs: [l], contains: [`#${a.id}`], cleanup: () => l.dispose() };
    } },
  { name: 'backward after an input of square() was disposed: no partial gradients', error: DisposedError, contains: ['backward', 'disposed'],
    make: () => {
      const a = tensor([1, 2], undefined, { requiresGrad: true });
      const b = tensor([3, 4], undefined, { requiresGrad: true });
      const l = add(sum(a), sum(square(b)));
      b.dispose();
      return { call: () => l.backward(), inputs: [a, l], contains: [`#${b.id}`], cleanup: () => { a.dispose(); l.dispose(); } };
    } },
  { name: 'backward on a tensor that does not require grad', error: AutogradError, contains: ['backward', /#\d+/, '[3, 3]'],
    make: (f) => () => f.X.backward() },

  // ---- nn.Conv2D ----------------------------------------------------------
  { name: "Conv2D([kh, kw]): zero kernel height", error: RangeError, contains: ['Conv2D', 'kernelSize', /\[0, ?2\]/],
    make: () => () => new nn.Conv2D([0, 2]) },
  { name: "Conv2D([kh, kw]): fractional kernel size", error: RangeError, contains: ['Conv2D', 'kernelSize', '2.5'],
    make: () => () => new nn.Conv2D([2.5, 2]) },
  { name: 'Conv2D(in, out, k): kernelSize 0', error: RangeError, contains: ['Conv2D', 'kernelSize', '0'],
    make: () => () => new nn.Conv2D(1, 1, 0) },
  { name: 'Conv2D(in, out, k): inChannels 0', error: RangeError, contains: ['Conv2D', 'inChannels', '0'],
    make: () => () => new nn.Conv2D(0, 1, 3) },
  { name: 'Conv2D(in, out, k): outChannels 1.5', error: RangeError, contains: ['Conv2D', 'outChannels', '1.5'],
    make: () => () => new nn.Conv2D(1, 1.5, 3) },
  { name: 'Conv2D(in, out, k): groups do not divide inChannels', error: ShapeError, contains: ['Conv2D', 'groups (2)', '3'],
    make: () => () => new nn.Conv2D(3, 4, 3, { groups: 2 }) },
  { name: 'Conv2D(in, out, k): groups do not divide outChannels', error: ShapeError, contains: ['Conv2D', 'groups (2)', '3'],
    make: () => () => new nn.Conv2D(4, 3, 3, { groups: 2 }) },
  { name: 'Conv2D(in, out, k): bias not a boolean', error: TypeError, contains: ['Conv2D', 'bias', 'yes'],
    make: () => () => new nn.Conv2D(1, 1, 3, A({ bias: 'yes' })) },
  { name: "Conv2D(in, out, k): padding 'full' (rejected when the layer is built, as torch.nn.Conv2d)", error: RangeError, contains: ['Conv2D', 'padding', '"full"'],
    make: () => () => new nn.Conv2D(1, 1, 3, { padding: A('full') }) },
  { name: "Conv2D(in, out, k): padding 'same' with stride 2 (rejected when built, as torch.nn.Conv2d)", error: RangeError, contains: ['Conv2D', "'same'", 'stride'],
    make: () => () => new nn.Conv2D(1, 1, 3, { padding: 'same', stride: 2 }) },
  { name: 'Conv2D: only one argument that is not a pair', error: TypeError, contains: ['Conv2D', '3'],
    make: () => () => new (nn.Conv2D as any)(3) },
  { name: "Conv2D([kh, kw]).forward on a 4-D input", error: ShapeError, contains: ['Conv2D', '[1, 1, 4, 4]'],
    make: () => { const m = new nn.Conv2D([1, 2]); return { call: () => m.forward(F.x), inputs: m.parameters(), cleanup: () => m.dispose() }; } },
  { name: 'Conv2D(3, 1, 2).forward with 1 input channel', error: ShapeError, contains: ['conv2d', '1 channels', '[1, 3, 2, 2]'],
    make: (f) => layer(3, 1, 2).prepared((m) => m.forward(f.x)) },

  // ---- losses, optimizers, fit --------------------------------------------
  { name: 'mseLoss: shapes differ', error: ShapeError, contains: ['mseLoss', '[1, 1, 4, 4]', '[3, 3]'],
    make: (f) => () => nn.mseLoss(f.x, f.X) },
  { name: 'mseLoss: unknown reduction', error: RangeError, contains: ['mseLoss', '"avg"'],
    make: (f) => () => nn.mseLoss(f.X, f.X, A({ reduction: 'avg' })) },
  { name: 'SGD: no parameters', error: RangeError, contains: ['SGD', 'empty'],
    make: () => () => new optim.SGD([]) },
  { name: 'SGD: negative learning rate', error: RangeError, contains: ['SGD', 'lr', '-0.1'],
    make: (f) => () => new optim.SGD([f.wg], { lr: -0.1 }) },
  { name: 'SGD: NaN learning rate', error: RangeError, contains: ['SGD', 'lr', 'NaN'],
    make: (f) => () => new optim.SGD([f.wg], { lr: NaN }) },
  { name: 'SGD: params not an array', error: TypeError, contains: ['SGD', 'params'],
    make: (f) => () => new optim.SGD(A(f.wg)) },
  { name: 'SGD: negative momentum', error: RangeError, contains: ['SGD', 'momentum', '-0.5'],
    make: (f) => () => new optim.SGD([f.wg], { lr: 0.1, momentum: -0.5 }) },
  { name: 'Adam: no parameters', error: RangeError, contains: ['Adam', 'empty'],
    make: () => () => new optim.Adam([]) },
  { name: 'Adam: negative learning rate', error: RangeError, contains: ['Adam', 'lr', '-1'],
    make: (f) => () => new optim.Adam([f.wg], { lr: -1 }) },
  { name: 'Adam: beta1 = 1', error: RangeError, contains: ['Adam', 'betas[0]', '1'],
    make: (f) => () => new optim.Adam([f.wg], { betas: [1, 0.999] }) },
  { name: 'Adam: betas of length 1', error: RangeError, contains: ['Adam', 'betas', '0.9'],
    make: (f) => () => new optim.Adam([f.wg], { betas: A([0.9]) }) },
  { name: 'fit: x and y batch sizes differ', error: ShapeError, contains: ['fit', '[2, 1, 4, 4]', '[3, 1, 3, 3]'],
    make: () => { const x = zeros([2, 1, 4, 4]), y = zeros([3, 1, 3, 3]);
      return layer(1, 1, 2).prepared((m) => fit(m, x, y, { epochs: 1, lr: 0.1 }), [x, y]); } },
  { name: 'fit: y shape differs from the model output', error: ShapeError, contains: ['fit', '[1, 1, 3, 3]', '[1, 1, 2, 2]'],
    make: (f) => { const y = ones([1, 1, 2, 2]);
      return layer(1, 1, 2).prepared((m) => fit(m, f.x, y, { epochs: 3, lr: 0.1 }), [y]); } },
  { name: 'fit: epochs 0', error: RangeError, contains: ['fit', 'epochs', '0'],
    make: (f) => { const y = zeros([1, 1, 3, 3]); return layer(1, 1, 2).prepared((m) => fit(m, f.x, y, { epochs: 0 }), [y]); } },
  { name: 'fit: fractional epochs', error: RangeError, contains: ['fit', 'epochs', '2.5'],
    make: (f) => { const y = zeros([1, 1, 3, 3]); return layer(1, 1, 2).prepared((m) => fit(m, f.x, y, { epochs: 2.5 }), [y]); } },
  { name: 'fit: both optimizer and lr', error: TypeError, contains: ['fit', 'optimizer', 'lr'],
    make: (f) => { const y = zeros([1, 1, 3, 3]);
      return layer(1, 1, 2).prepared((m) => fit(m, f.x, y, { epochs: 1, lr: 0.1, optimizer: new optim.SGD(m.parameters()) }), [y]); } },
  { name: 'fit: unknown loss', error: RangeError, contains: ['fit', 'loss', '"l1"'],
    make: (f) => { const y = zeros([1, 1, 3, 3]); return layer(1, 1, 2).prepared((m) => fit(m, f.x, y, { epochs: 1, loss: A('l1') }), [y]); } },
  { name: 'fit: negative learning rate', error: RangeError, contains: ['lr', '-0.1'],
    make: (f) => { const y = zeros([1, 1, 3, 3]); return layer(1, 1, 2).prepared((m) => fit(m, f.x, y, { epochs: 1, lr: -0.1 }), [y]); } },
  { name: 'fit: not a model', error: TypeError, contains: ['fit', 'model'],
    make: (f) => () => fit(A({}), f.x, f.x, { epochs: 1 }) },

  // ---- tidy and init options ----------------------------------------------
  { name: 'tidy: not a function', error: TypeError, contains: ['tidy', 'function'],
    make: () => () => tidy(A(3)) },
  { name: 'tidy: an async function', error: TypeError, contains: ['tidy', 'Promise'],
    make: () => () => tidy(A(async () => 1)) },
  { name: 'init: threads 0', error: RangeError, contains: ['init', 'threads', '0'],
    make: () => () => init({ threads: 0 }) },
  { name: 'init: threads 1.5', error: RangeError, contains: ['init', 'threads', '1.5'],
    make: () => () => init({ threads: 1.5 }) },
  { name: 'init: unknown build', error: RangeError, contains: ['init', 'build', '"sse"'],
    make: () => () => init({ build: A('sse') }) },
  { name: 'init: unknown backend', error: RangeError, contains: ['init', 'backend', '"gpu"'],
    make: () => () => init({ backend: A('gpu') }) },
  { name: 'init: maxMemoryMB -1', error: RangeError, contains: ['init', 'maxMemoryMB', '-1'],
    make: () => () => init({ maxMemoryMB: -1 }) },
  { name: 'init: options null', error: TypeError, contains: ['init', 'null'],
    make: () => () => init(A(null)) },
];

// Placeholders the rows assign while building (declared here for the closures above).
let t5: Tensor, wg3: Tensor, x2: Tensor, w31: Tensor, w55: Tensor, w17: Tensor;

function snapshot(ts: Tensor[]): Array<{ t: Tensor; bits: number[] }> {
  return ts.filter((t) => !t.isDisposed).map((t) => ({ t, bits: Array.from(new Uint32Array(t.data().buffer)) }));
}

/** Runs the call; returns what it threw (awaiting a returned promise), or fails if it did not throw. */
async function thrown(call: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = call();
  } catch (e) {
    return e;
  }
  if (result instanceof Promise) {
    try { await result; } catch (e) { return e; }
  }
  // Free whatever a call that should have failed made, so other rows are not affected.
  if (result instanceof Tensor) result.dispose();
  else if (result && typeof (result as { dispose?: unknown }).dispose === 'function') (result as { dispose: () => void }).dispose();
  return undefined;
}

describe('bad calls across the public API', () => {
  beforeAll(async () => {
    await init({ threads: 1 });
    F = {
      x: tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]),
      w: tensor([1, 2, 3, 4], [1, 1, 2, 2]),
      x3: tensor(Array.from({ length: 48 }, (_, i) => i / 7), [1, 3, 4, 4]),
      w32: tensor(Array.from({ length: 8 }, (_, i) => i - 3), [1, 2, 2, 2]),
      X: tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]),
      K: tensor([[0, 1], [2, 3]]),
      v: tensor([0.5, -1.5, 2.25]),
      wg: tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true }),
      dead: tensor([1, 2, 3, 4, 5, 6], [2, 3]),
    };
    F.dead.dispose();
  });

  afterAll(() => {
    for (const t of Object.values(F)) t.dispose();
  });

  it('has at least 40 rows covering every error class', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(40);
    const classes = new Set(ROWS.map((r) => r.error));
    for (const c of [ShapeError, TypeError, RangeError, DisposedError, AutogradError]) expect(classes.has(c)).toBe(true);
    expect(new Set(ROWS.map((r) => r.name)).size).toBe(ROWS.length);
  });

  for (const row of ROWS) {
    it(`${row.name} -> ${row.error.name}`, async () => {
      const made = row.make(F);
      const p: Prepared = typeof made === 'function' ? { call: made } : made;
      const watched = [F.x, F.w, F.x3, F.w32, F.X, F.K, F.v, F.wg, ...(p.inputs ?? [])];
      const before = snapshot(watched);
      const grads = snapshot(watched.filter((t) => !t.isDisposed && t.grad).map((t) => t.grad!));
      const gradRefs = watched.map((t) => t.grad);
      const mem = memory();
      try {
        const err = await thrown(p.call);
        expect(err, 'the call should throw').toBeDefined();
        expect(err).not.toBeInstanceOf(WebAssembly.RuntimeError);
        // Soft: a wrong class or message is reported along with the checks below.
        expect.soft(err, `got ${(err as Error)?.name}: ${(err as Error)?.message}`).toBeInstanceOf(row.error);
        const message = (err as Error).message;
        for (const s of [...row.contains, ...(p.contains ?? [])]) {
          if (typeof s === 'string') expect.soft(message, 'message').toContain(s);
          else expect.soft(message, 'message').toMatch(s);
        }
        // Nothing allocated or freed, nothing written.
        const after = memory();
        expect({ tensors: after.tensors, bytes: after.bytes }, 'memory()').toEqual({ tensors: mem.tensors, bytes: mem.bytes });
        for (const { t, bits } of before) {
          expect(t.isDisposed, `input #${t.id} disposed`).toBe(false);
          expect(Array.from(new Uint32Array(t.data().buffer)), `input #${t.id} ${JSON.stringify(t.shape)}`).toEqual(bits);
        }
        watched.forEach((t, i) => expect(t.grad, `grad of #${t.id}`).toBe(gradRefs[i]));
        for (const { t, bits } of grads) expect(Array.from(new Uint32Array(t.data().buffer)), `grad #${t.id}`).toEqual(bits);
        // The engine still works.
        expect(tidy(() => corr2d(tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), tensor([[0, 1], [2, 3]])).toArray()))
          .toEqual([[19, 25], [37, 43]]);
        expect(memory().tensors).toBe(mem.tensors);
      } finally {
        p.cleanup?.();
      }
    });
  }

  it('a failed init leaves the backend and its tensors in place', async () => {
    const t = tensor([1, 2]);
    await expect(init({ threads: -1 })).rejects.toThrow(RangeError);
    await expect(init({ build: A('avx') })).rejects.toThrow(RangeError);
    expect(t.isDisposed).toBe(false);
    expect(t.toArray()).toEqual([1, 2]);
    t.dispose();
  });

  it('every error class is a WasmconvError except the built-in TypeError and RangeError', () => {
    for (const C of [ShapeError, DisposedError, NotInitializedError, AutogradError]) {
      const e = new C('m');
      expect(e).toBeInstanceOf(WasmconvError);
      expect(e).toBeInstanceOf(Error);
      expect(e.name).toBe(C.name);
    }
  });
});

describe('before init: NotInitializedError', () => {
  it('every op that needs the engine throws NotInitializedError naming it and init()', async () => {
    vi.resetModules();
    const fresh = await import('../src/index');
    expect(fresh.NotInitializedError).not.toBe(NotInitializedError);  // really a fresh module state
    const calls: Array<[string, () => unknown]> = [
      ['tensor', () => fresh.tensor([[0, 1], [2, 3]])],
      ['tensor', () => fresh.tensor(3)],
      ['zeros', () => fresh.zeros([2, 2])],
      ['ones', () => fresh.ones([2])],
      ['full', () => fresh.full([2], 1)],
      ['rand', () => fresh.rand([2], { seed: 1 })],
      ['randn', () => fresh.randn([2])],
      ['backendInfo', () => fresh.backendInfo()],
      ['Conv2D', () => new fresh.nn.Conv2D(1, 1, 2)],
      ['Conv2D', () => new fresh.nn.Conv2D([1, 2])],
    ];
    for (const [fn, call] of calls) {
      let err: unknown;
      try { call(); } catch (e) { err = e; }
      expect(err, fn).toBeInstanceOf(fresh.NotInitializedError);
      expect(err, fn).toBeInstanceOf(fresh.WasmconvError);
      expect.soft((err as Error).message, `the message names ${fn}`).toContain(`${fn}:`);
      expect((err as Error).message, fn).toContain('init()');
    }
    // memory() works before init and reports nothing.
    expect(fresh.memory()).toEqual({ tensors: 0, bytes: 0, wasmBytes: 0 });
    // Validation errors still take precedence over the missing engine.
    expect(() => fresh.zeros([-1])).toThrow(RangeError);
    // After init, the same module works.
    await fresh.init({ threads: 1 });
    const y = fresh.corr2d(fresh.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), fresh.tensor([[0, 1], [2, 3]]));
    expect(y.toArray()).toEqual([[19, 25], [37, 43]]);
  });
});

describe('failures of the engine itself (fresh module state)', () => {
  it('out of memory in conv2d: RangeError, and nothing is leaked', async () => {
    vi.resetModules();
    const m = await import('../src/index');
    await m.init({ threads: 1, maxMemoryMB: 2 });
    // The weight (1.2 MB) fits in the 2 MiB maximum once, but not twice (packed for the GEMM kernel).
    const x = m.ones([1, 128, 4, 4]), w = m.ones([256, 128, 3, 3]);
    const before = m.memory();
    let err: unknown;
    try { m.conv2d(x, w).dispose(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RangeError);
    expect(err).not.toBeInstanceOf(WebAssembly.RuntimeError);
    expect((err as Error).message).toContain('cannot allocate');
    expect.soft((err as Error).message, 'the message names the op').toContain('conv2d');
    const after = m.memory();
    expect({ tensors: after.tensors, bytes: after.bytes }, 'memory() after the failed call')
      .toEqual({ tensors: before.tensors, bytes: before.bytes });
    expect(Array.from(x.data()).every((v) => v === 1) && Array.from(w.data()).every((v) => v === 1)).toBe(true);
    x.dispose(); w.dispose();
    // The engine still works, including a convolution that needs the freed space.
    const y = m.conv2d(m.ones([1, 8, 8, 8]), m.ones([8, 8, 3, 3]));
    expect(y.data()[0]).toBe(72);
    expect(m.corr2d(m.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), m.tensor([[0, 1], [2, 3]])).toArray()).toEqual([[19, 25], [37, 43]]);
  });

  it('init with a build this runtime cannot run rejects and keeps the current backend', async () => {
    vi.resetModules();
    const m = await import('../src/index');
    await m.init({ build: 'simd', threads: 1 });
    const t = m.tensor([1, 2, 3]);
    const before = m.memory();
    let err: unknown;
    try { await m.init({ build: 'relaxed-simd', threads: 1, replace: true }); } catch (e) { err = e; }
    if (err === undefined) {
      // This runtime has relaxed SIMD (Node 22+, or --experimental-wasm-relaxed-simd): nothing to check.
      expect(m.backendInfo().build).toBe('relaxed-simd');
      return;
    }
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toContain('init');
    expect((err as Error).message).toContain('relaxed-simd');
    expect(m.backendInfo()).toMatchObject({ backend: 'wasm', build: 'simd', threads: 1 });
    expect(t.isDisposed).toBe(false);
    expect(t.toArray()).toEqual([1, 2, 3]);
    expect(m.memory()).toEqual(before);
  });
});
