/*
 * softlockup.ts: the parallel engine's soft-lockup detector.
 *
 * A CPU that is running (pc_state RUN) but has not resumed a thread (pc_epoch unchanged)
 * for `limit_ms` is stuck inside one step: a kernel loop that never sleeps, or a program
 * computing without making a system call.  DragonFly would still take clock interrupts
 * there and its watchdog would say so; a worker running JS cannot be interrupted, so
 * without this a join on anything that needs that CPU waits for ever.
 *
 * Time is counted only across watchdog ticks that came on time.  A longer gap means the
 * host itself was stopped or starved (SIGSTOP, a debugger, an overloaded machine), and
 * the CPUs may have been stopped with it, so that interval proves nothing either way.
 * A moved epoch or a CPU that left RUN starts its count again, from the first tick that
 * finds it running at its new epoch (the time before that tick is not known to be stuck).
 */

export class SoftLockup {
  private readonly epochs: Int32Array;
  private readonly seen: Uint8Array;       // running, at this epoch, at the last tick
  private readonly stuck: Float64Array;    // ms counted for each CPU since its epoch last moved
  private last = -1;

  /* Ticks further apart than late_ms are host stalls: not counted. */
  constructor(ncpus: number, readonly limit_ms: number, readonly late_ms: number) {
    if (!(limit_ms > 0) || !(late_ms > 0)) throw new RangeError('SoftLockup: limits must be positive');
    this.epochs = new Int32Array(ncpus);
    this.seen = new Uint8Array(ncpus);
    this.stuck = new Float64Array(ncpus);
  }

  /*
   * One watchdog tick at now_ms, given each CPU's state (running or not) and epoch.
   * Returns the first CPU stuck for limit_ms or more, or -1.
   */
  tick(now_ms: number, running: ArrayLike<boolean>, epochs: ArrayLike<number>): number {
    const gap = this.last < 0 ? 0 : now_ms - this.last;
    this.last = now_ms;
    const counted = gap <= this.late_ms ? gap : 0;
    let found = -1;
    for (let c = 0; c < this.stuck.length; c++) {
      if (!running[c] || epochs[c] !== this.epochs[c] || this.seen[c] === 0) {
        // Not stuck, or stuck only since some moment after the last tick: start from now.
        this.epochs[c] = epochs[c];
        this.seen[c] = running[c] ? 1 : 0;
        this.stuck[c] = 0;
        continue;
      }
      this.stuck[c] += counted;
      if (found < 0 && this.stuck[c] >= this.limit_ms) found = c;
    }
    return found;
  }

  /* How long the CPU has been counted as stuck, in ms. */
  stuck_ms(cpu: number): number { return this.stuck[cpu]; }
}
