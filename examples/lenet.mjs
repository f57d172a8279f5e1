// The LeNet chapter of Dive into Deep Learning, trained by wasmconv: the book's
// LeNet-5 (sigmoid, average pooling, Xavier initialisation, SGD with lr 0.9,
// batches of 256, 10 epochs) on Fashion-MNIST, with the per-epoch loss, train
// and test accuracy and time the book prints.
//
//   npm run lenet                          # the book's model (test accuracy about 0.8)
//   npm run lenet -- --modern              # batch norm, ReLU, max pooling, AdamW, augmentation (about 0.9)
//   npm run lenet -- --epochs 3 --threads 1 --data /path/to/fashion-mnist --seed 1
//
// The data are Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist);
// when it is missing, this script installs it with apt-get if it can, and otherwise
// says what to install. Any directory with the four gzip IDX files works (--data).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  init, backendInfo, models, optim, fit, DataLoader, TensorDataset, loadMNIST, transforms, memory,
} from '../dist/index.js';

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

function usage(message) {
  console.error(`${message}\nusage: npm run lenet -- [--modern] [--epochs N] [--threads N] [--batch N] [--lr X] [--seed N] [--data DIR]`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { modern: false, epochs: 10, threads: undefined, batch: 256, lr: undefined, seed: 0, data: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const int = (name, min) => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < min) usage(`${name} needs an integer of at least ${min}, got ${argv[i]}`);
      return v;
    };
    if (a === '--modern') o.modern = true;
    else if (a === '--epochs') o.epochs = int('--epochs', 1);
    else if (a === '--threads') o.threads = int('--threads', 1);
    else if (a === '--batch') o.batch = int('--batch', 1);
    else if (a === '--seed') o.seed = int('--seed', 0);
    else if (a === '--data') o.data = value();
    else if (a === '--lr') {
      o.lr = Number(value());
      if (!(o.lr > 0)) usage(`--lr needs a positive number, got ${argv[i]}`);
    } else if (a === '--help' || a === '-h') usage('');
    else usage(`unknown option ${a}`);
  }
  return o;
}

const hasFiles = (dir) => FILES.every((f) => existsSync(join(dir, `${f}.gz`)) || existsSync(join(dir, f)));

/** The data directory: --data, or Debian's package, installed with apt-get when possible. */
function dataDir(given) {
  if (given) {
    if (!hasFiles(given)) usage(`--data ${given}: expected ${FILES.map((f) => `${f}(.gz)`).join(', ')} there`);
    return given;
  }
  if (hasFiles(DEBIAN_DIR)) return DEBIAN_DIR;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (isRoot && hasApt) {
    console.log(`Fashion-MNIST is not in ${DEBIAN_DIR}; installing Debian's dataset-fashion-mnist with apt-get...`);
    try {
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'dataset-fashion-mnist'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch {
      execFileSync('apt-get', ['update'], { stdio: 'inherit' });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'dataset-fashion-mnist'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
    if (hasFiles(DEBIAN_DIR)) return DEBIAN_DIR;
  }
  console.error(`Fashion-MNIST was not found in ${DEBIAN_DIR}.
Install it with:   sudo apt-get install dataset-fashion-mnist     (Debian, Ubuntu)
or download the four files from https://github.com/zalandoresearch/fashion-mnist
and run:           npm run lenet -- --data DIR`);
  process.exit(1);
}

const o = parseArgs(process.argv.slice(2));
const dir = dataDir(o.data);
await init(o.threads ? { threads: o.threads } : {});
const info = backendInfo();
console.log(`wasmconv on WebAssembly: ${info.build} build, ${info.threads} thread${info.threads === 1 ? '' : 's'}`);

const t0 = performance.now();
const train = await loadMNIST(dir, 'train');
const test = await loadMNIST(dir, 'test');
console.log(`Fashion-MNIST from ${dir}: ${train.images.shape[0]} training and ${test.images.shape[0]} test images (${((performance.now() - t0) / 1000).toFixed(1)} s to read)`);

const net = o.modern ? models.lenetModern({ seed: o.seed }) : models.lenet({ seed: o.seed });
let optimizer, scheduler = null, transform;
if (o.modern) {
  // Random crops of the image padded by 2 and horizontal flips; AdamW with a cosine schedule.
  transform = transforms.compose(transforms.randomCrop(28, { padding: 2 }), transforms.randomHorizontalFlip());
  optimizer = new optim.AdamW(net.parameters(), { lr: o.lr ?? 0.01, weightDecay: 0.01 });
  scheduler = new optim.CosineAnnealingLR(optimizer, { tMax: o.epochs });
} else {
  optimizer = new optim.SGD(net.parameters(), { lr: o.lr ?? 0.9 });
}
const target = o.modern ? 0.89 : 0.78;
console.log(`\n${o.modern ? 'LeNet with batch norm, ReLU and max pooling; AdamW, augmentation' : "The book's LeNet; SGD, lr 0.9"}; batches of ${o.batch}, ${o.epochs} epochs`);
console.log(String(net));
console.log();

const loader = new DataLoader(new TensorDataset(train.images, train.labels), { batchSize: o.batch, shuffle: true, seed: o.seed, transform });
const testSet = new TensorDataset(test.images, test.labels);
let images = 0, trainSeconds = 0;
const { history } = await fit(net, loader, {
  epochs: o.epochs, optimizer, validation: testSet, metrics: ['accuracy'], progress: false,
  onBatch: ({ size }) => { images += size; },
  onEpoch: (epoch, logs) => {
    scheduler?.step();
    trainSeconds += logs.seconds;
    console.log(`epoch ${String(epoch).padStart(2)}  loss ${logs.loss.toFixed(3)}, train acc ${logs.accuracy.toFixed(3)}, test loss ${logs.valLoss.toFixed(3)}, test acc ${logs.valAccuracy.toFixed(3)}  ${logs.seconds.toFixed(1)} s`);
  },
});
const last = history.at(-1);
console.log(`\nloss ${last.loss.toFixed(3)}, train acc ${last.accuracy.toFixed(3)}, test acc ${last.valAccuracy.toFixed(3)}`);
console.log(`${Math.round(images / trainSeconds)} examples/sec on ${info.threads} thread${info.threads === 1 ? '' : 's'} (training and testing time)`);
const ok = last.valAccuracy >= target;
console.log(`test accuracy ${last.valAccuracy.toFixed(3)} ${ok ? '>=' : '<'} ${target}${o.epochs < 10 ? ` (the target is for 10 epochs)` : ''}`);
optimizer.dispose(); net.dispose(); loader.dataset.dispose(); testSet.dispose();
if (memory().tensors !== 0) console.log(`(${memory().tensors} tensors still live)`);
process.exit(ok || o.epochs < 10 ? 0 : 1);
