/**
 * The other processes' load: the machine's busy time less this process's own, per second of the
 * window (readings injected, so the arithmetic is pinned whatever the machine is doing), the
 * window stretched to its minimum by waiting, and the real reader on this machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OthersLoad, readCpu, type CpuReading } from './others-load.js';

/** Readings handed out in order; `wait` moves the clock instead of sleeping. */
function scripted(readings: CpuReading[]) {
  const waits: number[] = [];
  let shift = 0;
  const read = () => {
    const r = readings.shift();
    return r && { ...r, at: r.at + shift };
  };
  const wait = async (ms: number) => {
    waits.push(ms);
    shift += ms / 1000;
  };
  return { read, wait, waits };
}

test('cores busy with others: the machine busy time less ours, per second of the window', async () => {
  // 0.5 s: the machine was busy 0.9 s, 0.4 s of it ours: others kept 1 core busy.
  const s = scripted([{ machineBusy: 10, own: 2, at: 100 }, { machineBusy: 10.5, own: 2.2, at: 100.5 }, { machineBusy: 10.9, own: 2.4, at: 100.5 }]);
  const load = OthersLoad.start(s.read, s.wait)!;
  assert.ok(Math.abs((await load.busyCores(100)) - 1) < 1e-9);
  assert.deepEqual(s.waits, [], 'the window was long enough');
});

test('a window shorter than its minimum is waited out; our own work never counts as others', async () => {
  // 20 ms in: wait 80 more; over the 100 ms only this process was busy (a whole core).
  const s = scripted([{ machineBusy: 5, own: 1, at: 50 }, { machineBusy: 5.02, own: 1.02, at: 50.02 }, { machineBusy: 5.1, own: 1.1, at: 50.02 }]);
  const load = OthersLoad.start(s.read, s.wait)!;
  assert.equal(await load.busyCores(100), 0);
  assert.equal(s.waits.length, 1);
  assert.ok(Math.abs(s.waits[0]! - 80) < 1e-6);
});

test('where the machine cannot be read there is no window', () => {
  assert.equal(OthersLoad.start(() => undefined), undefined);
});

test('this machine reads (Linux /proc/stat): busy time and ours grow, ours within the machine', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  const a = readCpu()!;
  let x = 0;
  for (let i = 0; i < 2e7; i++) x += i % 7;
  const b = readCpu()!;
  assert.ok(x > 0 && b.at > a.at && b.own > a.own && b.machineBusy >= a.machineBusy);
});
