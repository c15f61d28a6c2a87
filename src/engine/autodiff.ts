/**
 * Reverse-mode automatic differentiation over the graph: walk the nodes that lie between the
 * parameters and the loss in reverse creation order (a topological order), call each op's
 * gradient rule, and sum gradients that reach a tensor along several paths. Gradients are new
 * nodes of the same graph, built from the same primitive ops.
 */
import { type Tensor, isFloat, opDef } from './graph.js';
import { add } from './ops/elementwise.js';
import { expandLike, zerosLike } from './ops/shape.js';

/** d(y)/d(wrt) for a scalar y (or Σ seed ⊙ y when a seed gradient is given). */
export function gradients(y: Tensor, wrt: Tensor[], seed?: Tensor): Tensor[] {
  const g = y.graph;
  const last = y.node?.id ?? -1;
  const varies = new Set<number>(wrt.map((t) => t.id));
  for (let i = 0; i <= last; i++) {
    const node = g.nodes[i]!;
    if (!node.inputs.some((t) => varies.has(t.id)) || !opDef(node.op).grad) continue;
    for (const o of node.outputs) if (isFloat(o.dtype)) varies.add(o.id);
  }
  const grads = new Map<number, Tensor>();
  grads.set(y.id, seed ?? expandLike(g.scalar(1, y.dtype), y));
  for (let i = last; i >= 0; i--) {
    const node = g.nodes[i]!;
    const dOut = node.outputs.map((o) => grads.get(o.id));
    if (dOut.every((d) => d === undefined)) continue;
    const needs = node.inputs.map((t) => varies.has(t.id));
    if (!needs.some(Boolean)) continue;
    const rule = opDef(node.op).grad!;
    const dIn = rule(node, dOut, { needs });
    node.inputs.forEach((t, k) => {
      const d = dIn[k];
      if (!needs[k] || !d) return;
      const prev = grads.get(t.id);
      grads.set(t.id, prev ? add(prev, d) : d);
    });
  }
  return wrt.map((t) => grads.get(t.id) ?? zerosLike(t));
}
