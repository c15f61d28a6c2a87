/**
 * Checkpoints as bytes: the spec, weights, batch-norm statistics, optimizer state, step and
 * epoch counters, history and early-stopping state, so `fit` on a restored network continues
 * exactly where the saved one stopped (shuffling and dropout are keyed by seed and epoch).
 * Layout: "AIAASCK1", u32 header length, JSON header, zero padding to 4 bytes, float32 arrays.
 */
import { InvalidInputError } from '../infra/errors.js';
import { createNetwork, type Network } from './network.js';

const MAGIC = 'AIAASCK1';

interface Header {
  format: 'aiaas-engine-checkpoint';
  version: 1;
  spec: Network['spec'];
  options: Network['options'];
  training?: Omit<Network['training'] & object, 'slots' | 'bestWeights' | 'bestState'> & { slots: number; hasBest: boolean; hasBestState: boolean };
  arrays: { name: string; length: number }[];
}

export function saveCheckpoint(net: Network): Uint8Array {
  const t = net.training;
  const arrays: [string, Float32Array][] = [['weights', net.weights], ['state', net.stateValues]];
  t?.slots.forEach((s, i) => arrays.push([`slot${i}`, s]));
  if (t?.bestWeights) arrays.push(['bestWeights', t.bestWeights]);
  if (t?.bestState) arrays.push(['bestState', t.bestState]);
  const header: Header = {
    format: 'aiaas-engine-checkpoint', version: 1, spec: net.spec, options: net.options,
    training: t && {
      optimizer: t.optimizer, step: t.step, epoch: t.epoch, history: t.history, best: t.best, wait: t.wait, stopped: t.stopped,
      slots: t.slots.length, hasBest: !!t.bestWeights, hasBestState: !!t.bestState,
    },
    arrays: arrays.map(([name, a]) => ({ name, length: a.length })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = align4(12 + json.length);
  const out = new Uint8Array(start + arrays.reduce((p, [, a]) => p + a.byteLength, 0));
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  let off = start;
  for (const [, a] of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  return out;
}

const align4 = (n: number) => (n + 3) & ~3;

export function loadCheckpoint(bytes: Uint8Array): Network {
  const bad = (why: string) => new InvalidInputError('bad_checkpoint', `Not a usable engine checkpoint: ${why}.`, {});
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw bad('wrong magic bytes');
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as Header;
  if (header.format !== 'aiaas-engine-checkpoint' || header.version !== 1) throw bad('unknown format or version');
  const net = createNetwork(header.spec, header.options);
  const arrays = new Map<string, Float32Array>();
  let off = align4(12 + len);
  for (const a of header.arrays) {
    if (off + a.length * 4 > bytes.length) throw bad('truncated');
    // Copy into a fresh, aligned buffer (the input may sit at any offset).
    arrays.set(a.name, new Float32Array(bytes.slice(off, off + a.length * 4).buffer));
    off += a.length * 4;
  }
  const w = arrays.get('weights');
  if (!w || w.length !== net.weights.length) throw bad(`weights have ${w?.length} values, the spec needs ${net.weights.length}`);
  net.weights = w;
  net.stateValues = arrays.get('state') ?? net.stateValues;
  const t = header.training;
  if (t) {
    net.training = {
      optimizer: t.optimizer, step: t.step, epoch: t.epoch, history: t.history, best: t.best, wait: t.wait, stopped: t.stopped,
      slots: Array.from({ length: t.slots }, (_, i) => arrays.get(`slot${i}`)!),
      bestWeights: t.hasBest ? arrays.get('bestWeights') : undefined,
      bestState: t.hasBestState ? arrays.get('bestState') : undefined,
    };
  }
  return net;
}
