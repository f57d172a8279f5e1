// Data: datasets, the DataLoader, transforms, IDX files, images.
export { TensorDataset, DataLoader, type DataLoaderOptions, type Batch, type LoaderState } from './dataset';
export * as transforms from './transforms';
export type { Transform } from './transforms';
export { parseIdx, readIdx, loadMNIST, type Idx, type IdxSource, type ImageSet } from './idx';
export { fromImage, toImageData, type Pixels, type FromImageOptions, type ImageDataLike } from './image';
