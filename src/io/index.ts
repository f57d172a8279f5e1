// Models that travel: state dicts with PyTorch's names, safetensors files,
// and checkpoints of whole training runs.
export type { StateDict, LoadStateDictOptions, LoadStateDictResult } from '../nn/module';
export { StateDictError, SafetensorsError, CheckpointError, type ShapeMismatch } from '../errors';
export {
  saveSafetensors, loadSafetensors, readSafetensorsHeader, MAX_HEADER_BYTES,
  type SafetensorsDtype, type SafetensorsWriteDtype, type SafetensorsHeader, type SafetensorsTensorInfo, type SaveSafetensorsOptions,
} from './safetensors';
export {
  checkpoint, restoreCheckpoint,
  type CheckpointParts, type CheckpointTargets, type CheckpointLoaders, type RestoredCheckpoint,
} from './checkpoint';
export { save, load, saveCheckpoint, loadCheckpoint } from './files';
