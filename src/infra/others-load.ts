/**
 * How many cores the machine's other processes keep busy: the machine's busy CPU time (Linux
 * /proc/stat) less this process's own (process.cpuUsage), over a window, per second of it.
 *
 * ONNX Runtime's intra-op threads either spin between ops or sleep. Spinning is what makes a
 * second thread pay for small ops (the MNIST MLP at 2 threads: 74,000 samples/s spinning against
 * 45,000 sleeping, on a quiet 2-core machine), and what makes it cost double when the cores are
 * taken by others (the spinning threads steal the time the work needs). So the engine spins only
 * when the cores it would spin on are free.
 */
import fs from 'node:fs';

/** One reading: the machine's busy CPU seconds so far, this process's, and the time, seconds. */
export interface CpuReading {
  machineBusy: number;
  own: number;
  at: number;
}

/** The clock tick of /proc/stat (USER_HZ): 100 on every Linux this runs on. */
const USER_HZ = 100;

/** A reading of this machine, or undefined where /proc/stat cannot be read (not Linux). */
export function readCpu(): CpuReading | undefined {
  let line: string;
  try {
    line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  } catch {
    return undefined;
  }
  // cpu user nice system idle iowait irq softirq steal …: all but idle and iowait are busy.
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 8 || f.some((v) => !Number.isFinite(v))) return undefined;
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
  const u = process.cpuUsage();
  return { machineBusy: busy / USER_HZ, own: (u.user + u.system) / 1e6, at: performance.now() / 1000 };
}

export class OthersLoad {
  private constructor(private readonly first: CpuReading, private readonly read: () => CpuReading | undefined, private readonly wait: (ms: number) => Promise<void>) {}

  /** Starts a window now; undefined where the machine cannot be read. */
  static start(read: () => CpuReading | undefined = readCpu, wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): OthersLoad | undefined {
    const first = read();
    return first ? new OthersLoad(first, read, wait) : undefined;
  }

  /**
   * Cores busy with other processes since the start, on average; the window is made at least
   * `minMs` long (by waiting) so that the clock ticks of /proc/stat (10 ms) do not dominate.
   */
  async busyCores(minMs = 100): Promise<number> {
    const elapsed = 1000 * (this.read()!.at - this.first.at);
    if (elapsed < minMs) await this.wait(minMs - elapsed);
    const now = this.read()!;
    const seconds = now.at - this.first.at;
    if (seconds <= 0) return 0;
    return Math.max(0, (now.machineBusy - this.first.machineBusy - (now.own - this.first.own)) / seconds);
  }
}
