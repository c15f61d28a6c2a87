/**
 * A clock that moves only when a test says so: injected where production reads
 * `performance.now()` or `Date.now()`, so a test steps past a time window instead of sleeping
 * through it (and does not depend on how fast the machine is).
 */
export class ManualClock {
  private t: number;

  /** Starts at `start` rounded up to a whole ms, so that whole-ms steps add up exactly (no float drift). */
  constructor(start = 0) {
    this.t = Math.ceil(start);
  }

  /** The current time in ms; a bound function, to hand over as `now`. */
  readonly now = (): number => this.t;

  advance(ms: number): void {
    this.t += ms;
  }
}
