// The data-augmentation kernel through the op harness: random crops of padded
// images and horizontal flips, per sample, at the edges (crops reaching into
// the padding on every side, flips of odd and even widths, big batches split
// over two threads).
import { transforms } from '../src/index';
import { Rng } from '../src/random';
import { opSuite, type OpCase } from './harness';

const cases: OpCase[] = [];
const shapes = [[1, 1, 5, 5], [3, 2, 7, 6], [8, 3, 28, 28], [256, 1, 28, 28]];
for (const shape of shapes) {
  const [, , H, W] = shape;
  const crops: Array<[string, transforms.Transform]> = [
    ['crop padding 2', transforms.randomCrop([H, W], { padding: 2 })],
    ['smaller crop, no padding', transforms.randomCrop([Math.max(1, H - 2), Math.max(1, W - 1)])],
    ['crop padding 4 then flip', transforms.compose(transforms.randomCrop([H, W], { padding: 4 }), transforms.randomHorizontalFlip())],
    ['flip always', transforms.randomHorizontalFlip(1)],
  ];
  for (const [name, t] of crops) {
    cases.push({ name: `${name} x=[${shape}]`, inputs: [{ shape }], op: (x) => t(x, new Rng(shape[0] * 7 + H)), differentiable: false });
  }
}

opSuite('data augmentation', cases, ['crop_flip']);
