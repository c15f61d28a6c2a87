/**
 * A classical model spec checked before it is queued: its parameters (the estimators' own
 * validation, with the field path `model.<param>` added), and the size of a tree ensemble
 * estimated from the dataset's rows, so a forest that could not fit in a worker's memory is a 422
 * rather than a worker killed hours later.
 *
 * Trees are stored node by node (a few numbers plus one value per class: ~64 bytes), and the
 * fitted ensemble is exported to ONNX as well, so TREE_NODE_LIMIT worst-case nodes is about 3 GiB
 * while fitting. The estimate is a worst case (every tree grown to single-row leaves), reached on
 * noisy data with the defaults: the default forest (100 trees) fits up to about 250,000 rows.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { validateModelSpec, type ModelSpec as ClassicalSpec } from '../../ml/estimators/index.js';
import type { Task } from './target.js';
import { fail } from './spec-fields.js';

export const TREE_NODE_LIMIT = 50_000_000;

export function checkClassicalSpec(model: Record<string, unknown> & { kind: string }, task: Task, rows: number, classes: number): void {
  try {
    validateModelSpec(model as unknown as ClassicalSpec, task);
  } catch (err) {
    if (!(err instanceof InvalidInputError) || typeof err.details?.param !== 'string' || err.details.param === 'kind') throw err;
    throw new InvalidInputError(err.code, `model.${err.details.param}: ${err.message}`, { ...err.details, field: `model.${err.details.param}` });
  }
  const nodes = worstCaseNodes(model, rows, classes);
  if (nodes > TREE_NODE_LIMIT) {
    const knob = model.kind === 'random_forest' ? 'nEstimators, or set maxDepth or minSamplesLeaf' : 'maxIter or maxLeafNodes';
    throw fail(model.kind === 'random_forest' ? 'model.nEstimators' : 'model.maxIter',
      `${model.kind} on ${rows.toLocaleString('en-US')} rows may grow up to ${nodes.toLocaleString('en-US')} tree nodes; the limit is ${TREE_NODE_LIMIT.toLocaleString('en-US')}. Lower ${knob}.`,
      { limit: TREE_NODE_LIMIT, nodes });
  }
}

/** Nodes of a binary tree with at most `leaves` leaves, by depth and by rows per leaf. */
function treeNodes(rows: number, minLeaf: number, depth: number | null, maxLeaves = Infinity): number {
  const leaves = Math.min(Math.ceil(rows / minLeaf), depth === null ? Infinity : 2 ** depth, maxLeaves);
  return 2 * Math.max(1, leaves) - 1;
}

function worstCaseNodes(m: Record<string, unknown>, rows: number, classes: number): number {
  const depth = typeof m.maxDepth === 'number' ? m.maxDepth : null;
  if (m.kind === 'random_forest') {
    const perTree = Math.ceil(rows * (typeof m.maxSamples === 'number' ? m.maxSamples : 1));
    return Number(m.nEstimators ?? 100) * treeNodes(perTree, Number(m.minSamplesLeaf ?? 1), depth);
  }
  if (m.kind === 'gradient_boosting') {
    const trees = Number(m.maxIter ?? 100) * (classes > 2 ? classes : 1);
    const leaves = m.maxLeafNodes === null ? Infinity : Number(m.maxLeafNodes ?? 31);
    return trees * treeNodes(rows, Number(m.minSamplesLeaf ?? 20), depth, leaves);
  }
  return 0;
}
