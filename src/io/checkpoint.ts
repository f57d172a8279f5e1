// Checkpoints: everything a training run needs to continue bitwise as if it
// had never stopped, in one safetensors file: the model's state dict, the
// optimizer's and the scheduler's state, every random generator training
// draws from, and where each DataLoader is in its epoch.
import { describe, tidy } from '../engine';
import { CheckpointError } from '../errors';
import { DataLoader, type LoaderState } from '../data/dataset';
import { Module } from '../nn/module';
import { Optimizer, type OptimizerStateDict } from '../optim/optimizer';
import { LRScheduler, type SchedulerStateDict } from '../optim/scheduler';
import { Rng, getRngState, setRngState } from '../random';
import { Tensor } from '../tensor';
import { bytesOf, checkHost, encodeSafetensors, entriesOf, parseHeader, tensorsOf } from './safetensors';

/** The format version written in a checkpoint's metadata (`wasmconv.checkpoint`). */
const VERSION = '1';

/** Loaders of a checkpoint: a list (saved by index) or an object (saved by name). */
export type CheckpointLoaders = readonly DataLoader[] | Readonly<Record<string, DataLoader>>;

/** What `checkpoint` saves; every part is optional. */
export interface CheckpointParts {
  /** The model: its state dict (parameters and buffers), and the generators of its Dropout layers. */
  model?: Module;
  /** The optimizer: its state dict (moments, momentum buffers, step counts, group options). */
  optimizer?: Optimizer;
  /** The learning-rate scheduler: its state dict. */
  scheduler?: LRScheduler;
  /** DataLoaders: each one's epoch, position in the epoch and generators. */
  loaders?: CheckpointLoaders;
  /** Anything else worth keeping (the epoch, the losses so far): JSON-serializable, given back by `restoreCheckpoint`. */
  extra?: unknown;
}

/** Where `restoreCheckpoint` puts a checkpoint back; only the parts given are restored. */
export interface CheckpointTargets {
  model?: Module;
  optimizer?: Optimizer;
  scheduler?: LRScheduler;
  /** The same loaders (by index or by name) as were saved; each named here must be in the checkpoint. */
  loaders?: CheckpointLoaders;
  /** Model keys must match exactly (default true), as `loadStateDict`'s `strict`. */
  strict?: boolean;
  /** Restore the global generator (`getRngState`) too (default true). */
  rng?: boolean;
}

/** What `restoreCheckpoint` gives back. */
export interface RestoredCheckpoint {
  /** The `extra` value saved, or undefined. */
  extra: unknown;
  /** As `loadStateDict` reports them (empty after a strict restore, or when no model was restored). */
  missingKeys: string[];
  unexpectedKeys: string[];
}

interface OptimizerRecord {
  type: string;
  param_groups: OptimizerStateDict['param_groups'];
  /** Per parameter index: numbers as they are, tensors by their name in the file. */
  state: Record<string, Record<string, number | { tensor: string }>>;
}

const PART_KEYS = ['model', 'optimizer', 'scheduler', 'loaders', 'extra'];
const TARGET_KEYS = ['model', 'optimizer', 'scheduler', 'loaders', 'strict', 'rng'];

function checkKeys(o: object, allowed: string[], what: string, fn: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new RangeError(`${fn}: unknown ${what} ${JSON.stringify(k)}; they are ${allowed.join(', ')}`);
  }
}

/** [key, loader] pairs of a loaders argument, checked. */
function loaderEntries(loaders: unknown, fn: string): Array<[string, DataLoader]> {
  if (loaders === undefined) return [];
  let entries: Array<[string, unknown]>;
  if (Array.isArray(loaders)) entries = loaders.map((l, i) => [String(i), l]);
  else if (loaders !== null && typeof loaders === 'object' && !(loaders instanceof DataLoader)) entries = Object.entries(loaders);
  else throw new TypeError(`${fn}: loaders must be an array or an object of DataLoaders, got ${describe(loaders)}`);
  return entries.map(([k, l]) => {
    if (!(l instanceof DataLoader)) throw new TypeError(`${fn}: loaders[${JSON.stringify(k)}] is not a DataLoader, got ${describe(l)}`);
    return [k, l];
  });
}

/** The modules of a model that draw from a generator of their own (Dropout's `_rng`), by path. */
function moduleRngs(model: Module): Array<[string, Module & { _rng: Rng }]> {
  return model.namedModules().filter((e): e is [string, Module & { _rng: Rng }] => (e[1] as { _rng?: unknown })._rng instanceof Rng);
}

function checkParts(parts: unknown, fn: string): CheckpointParts {
  if (parts === null || typeof parts !== 'object' || Array.isArray(parts)) throw new TypeError(`${fn}: expected { model, optimizer, scheduler, loaders, extra }, got ${describe(parts)}`);
  checkKeys(parts, PART_KEYS, 'part', fn);
  const p = parts as CheckpointParts;
  if (p.model !== undefined && !(p.model instanceof Module)) throw new TypeError(`${fn}: model must be an nn.Module, got ${describe(p.model)}`);
  if (p.optimizer !== undefined && !(p.optimizer instanceof Optimizer)) throw new TypeError(`${fn}: optimizer must be an optim.Optimizer, got ${describe(p.optimizer)}`);
  if (p.scheduler !== undefined && !(p.scheduler instanceof LRScheduler)) throw new TypeError(`${fn}: scheduler must be an optim.LRScheduler, got ${describe(p.scheduler)}`);
  return p;
}

/**
 * A checkpoint of a training run as the bytes of a safetensors file:
 * tensors `model.<key>` (the model's state dict, PyTorch's names; I64
 * `num_batches_tracked`) and `optimizer.state.<index>.<name>` (moments,
 * momentum buffers), and in `__metadata__` as JSON: the optimizer's group
 * options and step counts, the scheduler's state dict, the global generator
 * (`getRngState`), each Dropout's generator by module path, each DataLoader's
 * `state()` (epoch, position in the epoch, shuffle and augmentation
 * generators), and `extra`. Take it between steps; `restoreCheckpoint` puts it
 * all back, and training then continues bitwise as it would have.
 *
 * @example
 * const bytes = checkpoint({ model, optimizer, scheduler, loaders: [train], extra: { epoch } });
 * // ... later, with a model, optimizer, scheduler and loader made as before:
 * const { extra } = restoreCheckpoint(bytes, { model, optimizer, scheduler, loaders: [train] });
 */
export function checkpoint(parts: CheckpointParts): Uint8Array {
  const fn = 'checkpoint';
  checkHost(fn);
  const p = checkParts(parts, fn);
  const loaders = loaderEntries(p.loaders, fn);
  const meta: Record<string, string> = { 'wasmconv.checkpoint': VERSION };
  const json = (v: unknown, what: string): string => {
    let s: string | undefined;
    try { s = JSON.stringify(v); } catch (e) { throw new TypeError(`${fn}: ${what} is not JSON-serializable: ${(e as Error).message}`); }
    if (s === undefined) throw new TypeError(`${fn}: ${what} is not JSON-serializable (got ${describe(v)})`);
    return s;
  };
  return tidy(() => {
    const tensors: Array<[string, Tensor]> = [];
    if (p.model) {
      for (const [k, t] of entriesOf(p.model.stateDict(), fn)) tensors.push([`model.${k}`, t]);
      meta.model = json({ type: p.model.constructor.name }, 'the model');
    }
    if (p.optimizer) {
      const sd = p.optimizer.stateDict();
      const rec: OptimizerRecord = { type: p.optimizer.name, param_groups: sd.param_groups, state: {} };
      for (const [i, s] of Object.entries(sd.state)) {
        const r: Record<string, number | { tensor: string }> = {};
        for (const [name, v] of Object.entries(s)) {
          if (v instanceof Tensor) {
            const key = `optimizer.state.${i}.${name}`;
            tensors.push([key, v.check(fn)]);
            r[name] = { tensor: key };
          } else r[name] = v;
        }
        rec.state[i] = r;
      }
      meta.optimizer = json(rec, 'the optimizer state');
    }
    if (p.scheduler) meta.scheduler = json({ type: p.scheduler.name, state: p.scheduler.stateDict() }, 'the scheduler state');
    const rng: { global: number[]; modules?: Record<string, number[]> } = { global: getRngState() };
    if (p.model) rng.modules = Object.fromEntries(moduleRngs(p.model).map(([path, m]) => [path, m._rng.state()]));
    meta.rng = json(rng, 'the generators');
    if (p.loaders !== undefined) meta.loaders = json(Object.fromEntries(loaders.map(([k, l]) => [k, l.state()])), 'the loaders');
    if (p.extra !== undefined) meta.extra = json(p.extra, 'extra');
    return encodeSafetensors(tensors, { metadata: meta }, fn);
  });
}

/** JSON from the checkpoint's metadata, or a CheckpointError naming the part. */
function part<T>(meta: Record<string, string>, key: string, fn: string): T | undefined {
  if (!(key in meta)) return undefined;
  try {
    return JSON.parse(meta[key]) as T;
  } catch (e) {
    throw new CheckpointError(`${fn}: the checkpoint's ${key} metadata is not valid JSON: ${(e as Error).message}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Puts a checkpoint made by `checkpoint` back into a model, optimizer,
 * scheduler and loaders built as the saved ones were (only the parts given
 * are restored; the global generator too unless `rng: false`), and returns
 * the saved `extra`. Everything is checked before anything changes: a model
 * of another shape is the `StateDictError` of `loadStateDict`, a part the
 * checkpoint lacks or that does not match (another optimizer class, a loader
 * that was not saved, other Dropout layers) a `CheckpointError`, a malformed
 * file a `SafetensorsError`; after an error, everything is as it was and no
 * tensor is left allocated.
 *
 * @example
 * const bytes = checkpoint({ model, optimizer, scheduler, loaders: [train] });
 * // later, in a fresh process:
 * const model = build(), optimizer = new optim.AdamW(model.parameters(), { lr: 1e-3 });
 * const scheduler = new optim.StepLR(optimizer, { stepSize: 5 }), train = new DataLoader(ds, { batchSize: 64, shuffle: true });
 * restoreCheckpoint(bytes, { model, optimizer, scheduler, loaders: [train] });  // training continues where it stopped
 */
export function restoreCheckpoint(bytes: Uint8Array | ArrayBufferLike | ArrayBufferView, targets: CheckpointTargets): RestoredCheckpoint {
  const fn = 'restoreCheckpoint';
  checkHost(fn);
  if (targets === null || typeof targets !== 'object' || Array.isArray(targets)) {
    throw new TypeError(`${fn}: expected the targets { model, optimizer, scheduler, loaders }, got ${describe(targets)}`);
  }
  checkKeys(targets, TARGET_KEYS, 'target', fn);
  const t = checkParts({ model: targets.model, optimizer: targets.optimizer, scheduler: targets.scheduler, loaders: targets.loaders }, fn);
  const strict = targets.strict ?? true, restoreRng = targets.rng ?? true;
  if (typeof strict !== 'boolean') throw new TypeError(`${fn}: strict must be a boolean, got ${describe(strict)}`);
  if (typeof restoreRng !== 'boolean') throw new TypeError(`${fn}: rng must be a boolean, got ${describe(restoreRng)}`);
  const loaders = loaderEntries(t.loaders, fn);
  const data = bytesOf(bytes, fn);
  const header = parseHeader(data, data.length, fn);
  const meta = header.metadata ?? {};
  if (meta['wasmconv.checkpoint'] !== VERSION) {
    throw new CheckpointError(meta['wasmconv.checkpoint'] === undefined
      ? `${fn}: these bytes are a safetensors file but not a checkpoint (no "wasmconv.checkpoint" metadata); load a state dict with loadSafetensors`
      : `${fn}: checkpoint format ${JSON.stringify(meta['wasmconv.checkpoint'])} is not supported (this version reads ${VERSION})`);
  }
  const fail = (msg: string): never => { throw new CheckpointError(`${fn}: ${msg}`); };

  // Every check first, in JavaScript: the parts, the generators, the loaders.
  if (t.model && meta.model === undefined) fail('the checkpoint has no model');
  const opt = t.optimizer ? part<OptimizerRecord>(meta, 'optimizer', fn) : undefined;
  if (t.optimizer) {
    if (!isObject(opt) || !Array.isArray(opt.param_groups) || !isObject(opt.state)) return fail('the checkpoint has no optimizer state');
    if (opt.type !== t.optimizer.name) fail(`the checkpoint holds the state of optimizer ${opt.type}, not of ${t.optimizer.name}`);
  }
  const sched = t.scheduler ? part<{ type: string; state: SchedulerStateDict }>(meta, 'scheduler', fn) : undefined;
  if (t.scheduler) {
    if (!isObject(sched) || !isObject(sched.state)) return fail('the checkpoint has no scheduler state');
    if (sched.type !== t.scheduler.name) fail(`the checkpoint holds the state of scheduler ${sched.type}, not of ${t.scheduler.name}`);
    const now = t.scheduler.stateDict() as Record<string, unknown>, saved = sched.state as Record<string, unknown>;
    for (const [k, v] of Object.entries(now)) {
      if (k === 'last_epoch' || k === 'base_lrs' || k === '_last_lr') continue;
      if (saved[k] !== undefined && saved[k] !== v) fail(`the scheduler's ${k} is ${String(saved[k])} in the checkpoint and ${String(v)} here`);
    }
    if (!Number.isInteger(saved.last_epoch) || !Array.isArray(saved.base_lrs) || saved.base_lrs.length !== t.scheduler.baseLrs.length) {
      fail(`the scheduler state must have an integer last_epoch and ${t.scheduler.baseLrs.length} base_lrs, got ${JSON.stringify(saved).slice(0, 200)}`);
    }
  }
  const rngs = part<{ global: number[]; modules?: Record<string, number[]> }>(meta, 'rng', fn);
  if ((restoreRng || t.model) && !isObject(rngs)) fail('the checkpoint has no generator states');
  const globalRng = restoreRng ? Rng.fromState(rngs!.global, `${fn}: the global generator`) : null;
  const moduleRestores: Array<[Module & { _rng: Rng }, Rng]> = [];
  if (t.model) {
    const saved = isObject(rngs!.modules) ? rngs!.modules : {};
    const here = moduleRngs(t.model);
    const names = (ks: string[]) => ks.map((k) => JSON.stringify(k)).join(', ') || 'none';
    const savedKeys = Object.keys(saved), hereKeys = here.map(([k]) => k);
    if (savedKeys.length !== hereKeys.length || hereKeys.some((k) => !(k in saved))) {
      fail(`the model's modules with generators of their own (Dropout) are ${names(hereKeys)}, the checkpoint's ${names(savedKeys)}`);
    }
    for (const [path, m] of here) moduleRestores.push([m, Rng.fromState(saved[path], `${fn}: the generator of module ${JSON.stringify(path)}`)]);
  }
  const loaderStates = t.loaders !== undefined ? part<Record<string, LoaderState>>(meta, 'loaders', fn) : undefined;
  const loaderRestores: Array<[DataLoader, LoaderState]> = [];
  for (const [k, l] of loaders) {
    const s = isObject(loaderStates) ? loaderStates[k] : undefined;
    if (!isObject(s)) fail(`the checkpoint has no state for loader ${JSON.stringify(k)}${isObject(loaderStates) ? ` (it has ${Object.keys(loaderStates).map((x) => JSON.stringify(x)).join(', ') || 'none'})` : ''}`);
    const st = s as unknown as LoaderState;
    if (!Number.isInteger(st.epoch) || st.epoch < 0 || !Number.isInteger(st.position) || st.position < 0 || st.position > l.length) {
      fail(`loader ${JSON.stringify(k)}: the checkpoint is at epoch ${st.epoch}, batch ${st.position}, which this loader (${l.length} batches an epoch) cannot be at`);
    }
    Rng.fromState(st.shuffle, `${fn}: loader ${JSON.stringify(k)}`);
    Rng.fromState(st.augment, `${fn}: loader ${JSON.stringify(k)}`);
    loaderRestores.push([l, st]);
  }

  const extra = part(meta, 'extra', fn);

  // Then the tensors; the loaded copies are freed whatever happens.
  const tensors = tensorsOf(data, header, fn);
  try {
    let plan: { missingKeys: string[]; unexpectedKeys: string[]; commit(): void } | null = null;
    if (t.model) {
      const dict = new Map<string, Tensor>();
      for (const [k, v] of Object.entries(tensors)) if (k.startsWith('model.')) dict.set(k.slice(6), v);
      plan = t.model._planLoad(dict, strict, fn);
    }
    let optDict: OptimizerStateDict | null = null;
    if (t.optimizer && opt) {
      const state: OptimizerStateDict['state'] = {};
      for (const [i, s] of Object.entries(opt.state)) {
        if (!isObject(s)) fail(`the optimizer state of parameter ${i} is not an object`);
        const r: Record<string, Tensor | number> = {};
        for (const [name, v] of Object.entries(s)) {
          if (typeof v === 'number') r[name] = v;
          else if (isObject(v) && typeof v.tensor === 'string' && tensors[v.tensor] instanceof Tensor) r[name] = tensors[v.tensor];
          else fail(`the optimizer state ${name} of parameter ${i} is neither a number nor a tensor of the file`);
        }
        state[Number(i)] = r;
      }
      optDict = { state, param_groups: opt.param_groups };
    }
    // The optimizer checks and copies its state before changing anything: the
    // first step that can refuse after the checks above, so it goes first.
    if (t.optimizer && optDict) t.optimizer.loadStateDict(optDict);
    // Nothing below can fail.
    plan?.commit();
    if (t.scheduler && sched) t.scheduler.loadStateDict(sched.state);
    for (const [l, s] of loaderRestores) l.loadState(s);
    for (const [m, r] of moduleRestores) m._rng = r;
    if (globalRng) setRngState(globalRng.state());
    return { extra, missingKeys: plan?.missingKeys ?? [], unexpectedKeys: plan?.unexpectedKeys ?? [] };
  } finally {
    for (const v of Object.values(tensors)) v.dispose();
  }
}
