/**
 * The Open Inference Protocol (KServe v2: /v2/models/{name}…) over the data plane: infer on the
 * version the traffic picks (or the one named), model metadata and readiness. Tensors are read
 * and written by ../codec/instances.ts; a classifier's class names ride beside its label
 * indices as an extra output (../codec/v2-labels.ts).
 */
import { InvalidInputError } from '../../../infra/errors.js';
import type { Signature } from '../../../ml/signature.js';
import type { Principal } from '../../principal.js';
import { feedsToV2, v2InputsToFeeds, V2_DATATYPES, type Feeds, type V2Tensor } from '../codec/instances.js';
import { LABEL_NAMES, hasLabelNames, labelNamesMetadata, labelNamesTensor } from '../codec/v2-labels.js';
import type { DataPlane } from '../data-plane.js';

export interface InferRequest {
  id?: string;
  inputs: V2Tensor[];
  outputs?: Array<{ name: string }>;
  parameters?: Record<string, unknown>;
}

/** POST /v2/models/{name}[/versions/{version}]/infer. */
export async function infer(plane: DataPlane, p: Principal, name: string, body: InferRequest, version?: string, requestId?: string) {
  const t = plane.rowsTarget(p, name, version, requestId);
  const sig = t.served.spec.signature;
  const impute = body.parameters?.impute;
  if (impute !== undefined && typeof impute !== 'boolean') {
    throw new InvalidInputError('invalid_request', 'body.parameters.impute: must be boolean. See /docs for this route\'s schema.', { errors: [{ path: 'body.parameters.impute', message: 'must be boolean' }] });
  }
  const { feeds, rows } = v2InputsToFeeds(sig, body.inputs, { impute: impute === true });
  const wanted = body.outputs?.map((o) => o.name);
  for (const w of wanted ?? []) {
    if (w === LABEL_NAMES && hasLabelNames(sig)) continue;
    if (!sig.outputs.some((o) => o.name === w)) {
      throw new InvalidInputError('unknown_output', `Output '${w}' does not exist; the model has ${sig.outputs.map((o) => o.name).join(', ')}.`, { output: w });
    }
  }
  const outputs = await plane.run(t, feeds, rows);
  return {
    model_name: t.endpoint.row.name, model_version: String(t.served.version.version), ...(body.id !== undefined ? { id: body.id } : {}),
    outputs: withLabelNames(sig, outputs, wanted),
  };
}

/** GET /v2/models/{name}: inputs, outputs, datatypes and shapes of the version with the most traffic. */
export async function modelMetadata(plane: DataPlane, p: Principal, name: string) {
  const ep = plane.authorizePredict(p, name);
  const sig: Signature = plane.describingVersion(ep).spec.signature;
  const tensor = (t: { name: string; dtype: keyof typeof V2_DATATYPES; shape: number[] }) => ({ name: t.name, datatype: V2_DATATYPES[t.dtype], shape: t.shape });
  const names = labelNamesMetadata(sig);
  return {
    name: ep.row.name, versions: ep.traffic.map((t) => String(t.version)), platform: 'onnxruntime_onnx',
    inputs: sig.tensors.map(tensor), outputs: [...sig.outputs.map(tensor), ...(names.output ? [names.output] : [])],
    parameters: {
      model: ep.row.model_name, task: sig.task, traffic: ep.traffic, ...(sig.labels ? { labels: sig.labels } : {}), ...names.parameters,
      columns: sig.inputs.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
    },
  };
}

/** The v2 outputs asked for (all by default), with the class names beside a classifier's label indices. */
function withLabelNames(sig: Signature, outputs: Feeds, wanted?: string[]): V2Tensor[] {
  const graph = feedsToV2(outputs, wanted?.filter((w) => w !== LABEL_NAMES));
  if (wanted?.length && !wanted.includes(LABEL_NAMES)) return graph;
  if (wanted?.length && wanted.every((w) => w === LABEL_NAMES)) graph.length = 0;
  const names = labelNamesTensor(sig, outputs);
  return names ? [...graph, names] : graph;
}
