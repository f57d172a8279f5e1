// Files in Node: safetensors state dicts and checkpoints on disk. node:fs is
// reached only through a dynamic import taken in Node, so the one bundle
// still loads in browsers (where `load` fetches a URL instead).
import { describe } from '../engine';
import type { Module, StateDict } from '../nn/module';
import type { Tensor } from '../tensor';
import { checkpoint, restoreCheckpoint, type CheckpointParts, type CheckpointTargets, type RestoredCheckpoint } from './checkpoint';
import { loadSafetensors, saveSafetensors, type SaveSafetensorsOptions } from './safetensors';

type Fs = typeof import('node:fs/promises');

/** A path, or a file URL (a `URL` or a `file:` string) as a URL, which node:fs takes as it is. */
function pathArg(path: unknown, fn: string): string | URL {
  if (typeof path === 'string' && path.length > 0) return path.startsWith('file:') ? new URL(path) : path;
  if (typeof URL !== 'undefined' && path instanceof URL) return path;
  throw new TypeError(`${fn}: path must be a non-empty string or a URL, got ${describe(path)}`);
}

/** node:fs/promises, or a TypeError naming `fn` outside Node. */
async function nodeFs(fn: string): Promise<Fs> {
  if (!(typeof process !== 'undefined' && !!process.versions?.node)) {
    throw new TypeError(`${fn}: files need Node; in a browser, use saveSafetensors / loadSafetensors (or checkpoint / restoreCheckpoint) with bytes`);
  }
  const specifier = 'node:fs/promises';
  return (await import(/* @vite-ignore */ specifier)) as Fs;
}

/** Writes bytes to a sibling temporary file, then renames it over `path`: a reader never sees half a file. */
async function writeAtomically(path: string | URL, bytes: Uint8Array, fn: string): Promise<void> {
  const fs = await nodeFs(fn);
  const suffix = `.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const tmp = typeof path === 'string' ? path + suffix : new URL(path.href + suffix);
  try {
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

async function readBytes(path: string | URL, fn: string): Promise<Uint8Array> {
  const fs = await nodeFs(fn);
  return new Uint8Array(await fs.readFile(path));
}

const inNode = () => typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as { window?: unknown }).window === 'undefined';

/**
 * Saves a model's state dict (or a state dict) to a safetensors file (Node),
 * as `saveSafetensors` lays it out; the file appears whole or not at all.
 *
 * @example
 * await save(models.lenet({ seed: 0 }), 'lenet.safetensors', { metadata: { format: 'pt' } });
 * // PyTorch: net.load_state_dict(safetensors.torch.load_file('lenet.safetensors'))
 */
export async function save(src: Module | StateDict | ReadonlyMap<string, Tensor>, path: string | URL, opts: SaveSafetensorsOptions = {}): Promise<void> {
  const fn = 'save';
  const p = pathArg(path, fn);
  await writeAtomically(p, saveSafetensors(src, opts), fn);
}

/**
 * Loads a safetensors file as a state dict of new tensors, which the caller
 * owns (see `loadSafetensors`): a path in Node, a URL (fetched) elsewhere.
 *
 * @example
 * const dict = await load('lenet.safetensors');
 * net.loadStateDict(dict);
 * for (const t of Object.values(dict)) t.dispose();
 */
export async function load(path: string | URL): Promise<StateDict> {
  const fn = 'load';
  const p = pathArg(path, fn);
  if (inNode() && !/^(https?|blob|data):/.test(String(p))) return loadSafetensors(await readBytes(p, fn));
  const r = await fetch(p);
  if (!r.ok) throw new RangeError(`${fn}: fetching ${String(p)} failed: ${r.status} ${r.statusText}`);
  return loadSafetensors(r);
}

/**
 * Writes `checkpoint(parts)` to a file (Node), whole or not at all.
 *
 * @example
 * await saveCheckpoint('run.ckpt.safetensors', { model, optimizer, scheduler, loaders: [train], extra: { epoch } });
 */
export async function saveCheckpoint(path: string | URL, parts: CheckpointParts): Promise<void> {
  const fn = 'saveCheckpoint';
  const p = pathArg(path, fn);
  await writeAtomically(p, checkpoint(parts), fn);
}

/**
 * Reads a checkpoint file (Node) and restores it as `restoreCheckpoint` does.
 *
 * @example
 * const { extra } = await loadCheckpoint('run.ckpt.safetensors', { model, optimizer, scheduler, loaders: [train] });
 */
export async function loadCheckpoint(path: string | URL, targets: CheckpointTargets): Promise<RestoredCheckpoint> {
  const fn = 'loadCheckpoint';
  const p = pathArg(path, fn);
  return restoreCheckpoint(await readBytes(p, fn), targets);
}
