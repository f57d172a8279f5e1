// Builds an ONNX graph (nodes, initializers, inputs and outputs) and encodes
// the ModelProto with the protobufjs static code generated from ONNX's own
// onnx.proto (onnx.generated.js, `npm run gen:onnx`). Only the shapes of the
// data written here are known to this file: which layers make which nodes is
// export.ts's business.
import { onnx } from './onnx.generated.js';

/** An attribute value: an int, a float (written as float32), a string, or a list of ints. */
export type AttrValue = { i: number } | { f: number } | { s: string } | { ints: readonly number[] };

/** One dimension of a graph input or output: a size, a named symbol ('N'), or unknown (null). */
export type Dim = number | string | null;

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;
const utf8 = new TextEncoder();

/** Little-endian bytes of float32 values (ONNX's raw_data is little-endian on every platform). */
function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

/** Little-endian bytes of int64 values. */
function int64Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]), true);
  return out;
}

function attribute(name: string, v: AttrValue): onnx.AttributeProto.$Properties {
  if ('i' in v) return { name, type: AttributeType.INT, i: v.i };
  if ('f' in v) return { name, type: AttributeType.FLOAT, f: v.f };
  if ('s' in v) return { name, type: AttributeType.STRING, s: utf8.encode(v.s) };
  return { name, type: AttributeType.INTS, ints: [...v.ints] };
}

function valueInfo(name: string, dims: readonly Dim[]): onnx.ValueInfoProto.$Properties {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) },
      },
    },
  };
}

/** What the model header says: IR version, opset, producer. */
export interface ModelHeader {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  graphName: string;
  docString?: string;
}

/**
 * An ONNX graph under construction. Values are named strings; a node's
 * outputs are named after the node (`/3/Conv` makes `/3/Conv_output_0`), as
 * torch.onnx names them. Initializers hold the model's parameters and buffers
 * under their state-dict names; every other constant is a Constant node.
 */
export class GraphBuilder {
  private readonly nodes: onnx.NodeProto.$Properties[] = [];
  private readonly initializers: onnx.TensorProto.$Properties[] = [];
  private readonly initializerNames = new Set<string>();
  private readonly nodeNames = new Map<string, number>();

  /** A node name not used yet: `/3/Conv`, then `/3/Conv_1`, ... */
  private uniqueNodeName(name: string): string {
    const n = this.nodeNames.get(name) ?? 0;
    this.nodeNames.set(name, n + 1);
    return n === 0 ? name : `${name}_${n}`;
  }

  /**
   * Adds a node of `opType` named `${scope}/${opType}` and returns the names of
   * its outputs (`count` of them).
   */
  node(opType: string, scope: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, count = 1): string[] {
    const name = this.uniqueNodeName(`${scope}/${opType}`);
    const outputs = Array.from({ length: count }, (_, i) => `${name}_output_${i}`);
    this.nodes.push({
      name, opType, input: [...inputs], output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** A float32 initializer (a parameter or buffer), added once per name; returns the name. */
  initializer(name: string, dims: readonly number[], values: Float32Array): string {
    if (!this.initializerNames.has(name)) {
      this.initializerNames.add(name);
      this.initializers.push({ name, dims: [...dims], dataType: DataType.FLOAT, rawData: float32Bytes(values) });
    }
    return name;
  }

  /** A Constant node holding float32 values; returns its output. */
  constFloat(scope: string, dims: readonly number[], values: Float32Array): string {
    const name = this.uniqueNodeName(`${scope}/Constant`);
    const out = `${name}_output_0`;
    this.nodes.push({
      name, opType: 'Constant', input: [], output: [out],
      attribute: [{ name: 'value', type: AttributeType.TENSOR, t: { dims: [...dims], dataType: DataType.FLOAT, rawData: float32Bytes(values) } }],
    });
    return out;
  }

  /** A Constant node holding a 1-D int64 tensor (pads, shapes); returns its output. */
  constInt64(scope: string, values: readonly number[]): string {
    const name = this.uniqueNodeName(`${scope}/Constant`);
    const out = `${name}_output_0`;
    this.nodes.push({
      name, opType: 'Constant', input: [], output: [out],
      attribute: [{ name: 'value', type: AttributeType.TENSOR, t: { dims: [values.length], dataType: DataType.INT64, rawData: int64Bytes(values) } }],
    });
    return out;
  }

  /**
   * The encoded ModelProto. `last` is the value the graph computes: it is
   * renamed `output` (or, when it is the graph input itself, copied by an
   * Identity node).
   */
  encode(header: ModelHeader, input: { name: string; dims: readonly Dim[] }, last: string, output: { name: string; dims: readonly Dim[] }): Uint8Array {
    if (last === input.name) {
      this.nodes.push({ name: this.uniqueNodeName('/Identity'), opType: 'Identity', input: [last], output: [output.name], attribute: [] });
    } else {
      for (const n of this.nodes) {
        n.output = n.output!.map((o) => (o === last ? output.name : o));
        n.input = n.input!.map((o) => (o === last ? output.name : o));
      }
    }
    const model: onnx.ModelProto.$Properties = {
      irVersion: header.irVersion,
      opsetImport: [{ domain: '', version: header.opset }],
      producerName: header.producerName,
      producerVersion: header.producerVersion,
      docString: header.docString || undefined,
      graph: {
        name: header.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo(input.name, input.dims)],
        output: [valueInfo(output.name, output.dims)],
      },
    };
    const bytes = onnx.ModelProto.encode(model).finish();
    // In Node protobufjs writes a Buffer; hand back a plain Uint8Array of its own.
    return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes);
  }
}
