/**
 * OIP v2 answers a classifier's `label` as INT64 class indices (the graph's own output), where
 * v1 answers the class names. So that v2 clients need not map indices themselves, infer adds a
 * BYTES output `label_names` (the names, one per row) and the metadata lists it and says how
 * `label` is encoded.
 */
import type { Feeds, V2Tensor } from './instances.js';
import { outputRoles, plainValues } from './instances.js';
import type { Signature } from '../../../ml/signature.js';

export const LABEL_NAMES = 'label_names';

/** Whether this signature gets a `label_names` output: a classifier with class names and a label (or probabilities). */
export function hasLabelNames(sig: Signature): boolean {
  const roles = outputRoles(sig);
  return sig.task === 'classification' && !!sig.labels?.length && !!(roles.label || roles.probabilities) && !sig.outputs.some((o) => o.name === LABEL_NAMES);
}

/** The `label_names` tensor of one answer: class names of the label output (or of the argmax of the probabilities). */
export function labelNamesTensor(sig: Signature, outputs: Feeds): V2Tensor | undefined {
  if (!hasLabelNames(sig)) return undefined;
  const labels = sig.labels!;
  const roles = outputRoles(sig);
  const label = roles.label ? outputs[roles.label] : undefined;
  let indices: number[];
  if (label) indices = plainValues(label).map(Number);
  else {
    const probs = roles.probabilities ? outputs[roles.probabilities] : undefined;
    if (!probs) return undefined;
    const values = plainValues(probs).map(Number);
    const width = labels.length;
    indices = Array.from({ length: Math.floor(values.length / width) }, (_, r) => {
      let best = 0;
      for (let k = 1; k < width; k++) if (values[r * width + k]! > values[r * width + best]!) best = k;
      return best;
    });
  }
  return { name: LABEL_NAMES, datatype: 'BYTES', shape: [indices.length], data: indices.map((i) => labels[i] ?? String(i)) };
}

/** What the metadata says about labels: the extra output, and how `label` is encoded. */
export function labelNamesMetadata(sig: Signature): { output?: { name: string; datatype: string; shape: number[] }; parameters: Record<string, string> } {
  if (!hasLabelNames(sig)) return { parameters: {} };
  const label = outputRoles(sig).label;
  return {
    output: { name: LABEL_NAMES, datatype: 'BYTES', shape: [-1] },
    parameters: {
      label_encoding: `${label ? `'${label}' holds class indices (INT64) into parameters.labels; ` : ''}'${LABEL_NAMES}' (BYTES) holds the class names, as v1's predict answers them.`,
    },
  };
}
