// Ready-made models of the book's LeNet chapter, as torch.nn.Sequential
// builds them (the same layers, order, names and initialisation).
import { describe } from './engine';
import * as nn from './nn/index';

/** Options of the model builders. */
export interface ModelOptions {
  /**
   * Seed of the initial weights: the same seed gives the same model. Default:
   * drawn from the global generator (see `manualSeed`).
   */
  seed?: number;
}

function seeds(opts: ModelOptions | undefined, fn: string): (i: number) => number | undefined {
  if (opts === undefined) return () => undefined;
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(opts)}`);
  const { seed } = opts;
  if (seed === undefined) return () => undefined;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || Math.abs(seed) > 2 ** 40) {
    throw new TypeError(`${fn}: seed must be an integer (at most 2^40 in magnitude), got ${describe(seed)}`);
  }
  return (i) => seed * 64 + i * 2;
}

/** Xavier-uniform weights for every Conv2d and Linear, as the book's `init_cnn`. */
function xavier(net: nn.Sequential, seed: (i: number) => number | undefined): nn.Sequential {
  net.children().forEach((m, i) => {
    if (m instanceof nn.Conv2d || m instanceof nn.Linear) {
      const s = seed(i);
      nn.init.xavierUniform_(m.weight, 1, s === undefined ? undefined : { seed: s + 1 });
    }
  });
  return net;
}

/**
 * The book's LeNet-5 for 28x28 grey images and 10 classes: conv 6@5x5 (padding
 * 2), sigmoid, average pool 2, conv 16@5x5, sigmoid, average pool 2, flatten,
 * dense 400→120→84→10 with sigmoids between, weights Xavier-uniform, as
 * `d2l`'s `LeNet` with `init_cnn`. Train it with SGD, lr 0.9, batch 256.
 *
 * @example
 * const net = models.lenet({ seed: 0 });
 * net.forward(zeros([1, 1, 28, 28])).shape;   // [1, 10]
 * String(net);                                // Sequential(\n  (0): Conv2d(1, 6, kernel_size=(5, 5), ...
 */
export function lenet(opts?: ModelOptions): nn.Sequential {
  const s = seeds(opts, 'lenet');
  return xavier(new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2, seed: s(0) }), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }),
    new nn.Conv2d(6, 16, 5, { seed: s(3) }), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }), new nn.Flatten(),
    new nn.Linear(16 * 5 * 5, 120, { seed: s(7) }), new nn.Sigmoid(),
    new nn.Linear(120, 84, { seed: s(9) }), new nn.Sigmoid(),
    new nn.Linear(84, 10, { seed: s(11) }),
  ), s);
}

/**
 * LeNet as one would build it today: batch normalization after each
 * convolution, ReLU, max pooling; Xavier-uniform weights. With
 * AdamW and random crops and flips it reaches about 0.9 on Fashion-MNIST in 10
 * epochs (`npm run lenet -- --modern`).
 *
 * @example
 * const net = models.lenetModern({ seed: 0 });
 * net.forward(zeros([2, 1, 28, 28])).shape;   // [2, 10]
 */
export function lenetModern(opts?: ModelOptions): nn.Sequential {
  const s = seeds(opts, 'lenetModern');
  return xavier(new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2, seed: s(0) }), new nn.BatchNorm2d(6), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(6, 16, 5, { seed: s(4) }), new nn.BatchNorm2d(16), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(),
    new nn.Linear(16 * 5 * 5, 120, { seed: s(9) }), new nn.ReLU(),
    new nn.Linear(120, 84, { seed: s(11) }), new nn.ReLU(),
    new nn.Linear(84, 10, { seed: s(13) }),
  ), s);
}
