// `npm start`'s walkthrough (examples/chapter.mjs) prints the chapter's results.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const run = (args: string[]) => execFileSync(process.execPath, ['examples/chapter.mjs', ...args], { encoding: 'utf8' });

// dist/ is built by `npm test` before vitest runs.
describe('the chapter walkthrough (npm start)', () => {
  it('prints corr2d, the edge map, the transposed image and the learned kernel', () => {
    const out = run(['--seed', '3']);
    expect(out).toContain('tensor([[19., 25.],\n        [37., 43.]])');
    expect(out).toContain([
      'tensor([[ 0.,  1.,  0.,  0.,  0., -1.,  0.],',
      '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],',
      '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],',
      '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],',
      '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],',
      '        [ 0.,  1.,  0.,  0.,  0., -1.,  0.]])',
    ].join('\n'));
    // The transposed image: an 8x5 map of zeros.
    expect(out).toContain(`tensor([${Array(8).fill('[0., 0., 0., 0., 0.]').join(',\n        ')}])`);
    const epochs = [...out.matchAll(/^epoch (\d+), loss (\d+\.\d{3})$/gm)];
    expect(epochs.map((m) => Number(m[1]))).toEqual([2, 4, 6, 8, 10]);
    const losses = epochs.map((m) => Number(m[2]));
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[i - 1]);
    const learned = out.match(/tensor\(\[\[\s*(-?\d\.\d{4}), (-?\d\.\d{4})\]\]\)\s*\n\s*\n?\d+ tensors live/);
    expect(learned, out).not.toBeNull();
    expect(Math.abs(Number(learned![1]) - 1)).toBeLessThan(0.1);
    expect(Math.abs(Number(learned![2]) + 1)).toBeLessThan(0.1);
    // --seed makes it reproducible.
    expect(run(['--seed', '3']).replace(/\d+ threads?/, '')).toBe(out.replace(/\d+ threads?/, ''));
  });

  it('rejects a bad --seed', () => {
    expect(() => execFileSync(process.execPath, ['examples/chapter.mjs', '--seed', 'x'], { stdio: 'pipe' })).toThrow(/--seed needs an integer, got x/);
  });
});
