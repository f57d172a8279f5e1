// ONNX export: exportOnnx and its error.
export { exportOnnx, OnnxExportError, type OnnxExportOptions } from './export';
