/*
 * vfs_aio.ts: POSIX asynchronous I/O (DragonFly kern/vfs_aio.c), for the files here:
 * sockets and the console.  aio_read/aio_write queue a job (struct aiocblist) and return
 * at once; an AIO daemon thread does the read or write later; aio_error, aio_return,
 * aio_suspend and aio_cancel ask about, collect, wait for and cancel jobs.
 *
 * A socket job whose socket is not ready (soreadable / sowriteable) waits on the socket's
 * so_aiojobq with SSB_AIO set on the sockbuf; sowakeup's aio_swake moves it to the
 * daemons' queue when the sockbuf becomes ready.  Other jobs go to the daemons at once.
 * Per process (struct kaioinfo): jobs queued or running (kaio_jobqueue), waiting on a
 * socket (kaio_sockqueue), finished (kaio_jobdone), with C's queue limits: 256 queued per
 * process, 1024 in all (EAGAIN past them).  C's 32 running a process cannot be passed:
 * each CPU's daemon runs one job at a time.
 *
 * Differs:
 *  - The job's buffer is a Uint8Array in the requesting thread's isolate, so a job is
 *    done by the AIO daemon of the requester's CPU (one "aiod N" thread per CPU, made on
 *    first use), not by whichever of a system-wide pool is free.  C's daemon borrows the
 *    user's address space for the same reason.
 *  - A job's handle is its reference id (C's _aiocb_private.kernelinfo); aio_error and
 *    aio_return take it instead of a struct aiocb pointer.  No aio_offset (sockets have
 *    none), no sigevent notification, no lio_listio.
 *  - One spinlock (aio_spin) guards every aio queue (C: critical sections under the MP lock).
 *  - While a daemon has jobs it counts as a live thread (quiesce and joins wait for it).
 */

import { k32, H_LIVE, H_OFF_PCPU } from '../../shared/kmem.js';
import { PC, PCPU_WORDS } from '../../shared/pcpu.js';
import { NULL, layout, type Ptr } from '../../shared/struct.js';
import { KASSERT, panic } from '../../shared/panic.js';
import {
  EAGAIN, EBADF, ECANCELED, EINPROGRESS, EINTR, EINVAL, ENOBUFS, EPIPE, ERESTART, EWOULDBLOCK,
} from '../../shared/errno.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { TAILQ_EMPTY, TAILQ_FIRST, TAILQ_INSERT_TAIL, TAILQ_NEXT, TAILQ_REMOVE } from '../../shared/tailq.js';
import { zalloc, zfree, zone_item_live, Z_KMALLOC16 } from '../../shared/zone.js';
import { HZ } from '../../shared/param.js';
import { is_done, type Blocking } from '../../shared/effect.js';
import { curthread, mycpu } from '../lwkt/globaldata.js';
import { crit_enter, crit_exit, lwkt_create } from '../lwkt/lwkt_thread.js';
import { PCATCH, tsleep, tsleep_interlock, wakeup } from '../lwkt/kern_synch.js';
import { TD, TDPRI_KERN_DAEMON, TDF_SYSTHREAD } from '../lwkt/thread.js';
import { DTYPE_SOCKET, FILE, FILEDESC, FWRITE } from '../sys/file.js';
import { KERN, PROC, SIGPIPE, kern_globals } from '../sys/proc.js';
import { SO, SSB, SSB_AIO } from '../sys/socketvar.js';
import { fd_fp_locked, fdrop, fhold, fileops_of } from './kern_descrip.js';
import { psignal } from './kern_proc.js';
import { soreadable, sowriteable, Uio, uio_init, UIO_READ, UIO_WRITE } from './uipc_socket.js';

import { AIO_ALLDONE, AIO_CANCELED, AIO_LISTIO_MAX, AIO_NOTCANCELED, LIO_NOP, LIO_READ, LIO_WRITE } from '../sys/aio.js';
export { AIO_ALLDONE, AIO_CANCELED, AIO_LISTIO_MAX, AIO_NOTCANCELED, LIO_NOP, LIO_READ, LIO_WRITE };

/* Limits (vfs.aio.*: C's defaults). */
const MAX_AIO_QUEUE_PER_PROC = 256;
const MAX_AIO_QUEUE = 1024;
const AIOD_TIMEOUT = 10 * HZ;

/* struct aiocblist: one job (a kmalloc16 item). */
export const AIOCB = layout('aiocblist', {
  list: 2,          // on so_aiojobq, or on its CPU's aio_jobs
  plist: 2,         // on its process's kaio_jobqueue, kaio_sockqueue or kaio_jobdone
  jobstate: 1,      // JOBST_*
  jobflags: 1,      // AIOCBLIST_*
  fd_file: 1,       // the file, held until the job is freed
  opcode: 1,        // LIO_READ or LIO_WRITE
  nbytes: 1,
  status: 1,        // bytes moved (_aiocb_private.status), -1 until done
  error: 1,         // _aiocb_private.error: EINPROGRESS until done
  userproc: 1,
  jobref: 1,        // the handle (_aiocb_private.kernelinfo)
  cpu: 1,           // the CPU whose isolate holds the buffer, and whose daemon runs the job
});
const JOBST_JOBQGLOBAL = 2;
const JOBST_JOBRUNNING = 3;
const JOBST_JOBFINISHED = 4;
const JOBST_JOBQSOCK = 7;      // here: waiting on a socket (C leaves these as JOBQGLOBAL, "XXX")
const AIOCBLIST_RUNDOWN = 0x4;
const AIOCBLIST_DONE = 0x10;

/* struct kaioinfo: a process's aio state (a kmalloc16 item, p_aioinfo). */
export const KAIO = layout('kaioinfo', {
  kaio_flags: 1,
  kaio_active_count: 1,
  kaio_queue_count: 1,
  kaio_queue_finished_count: 1,
  kaio_jobqueue: 2,
  kaio_jobdone: 2,
  kaio_sockqueue: 2,
});
const KAIO_RUNDOWN = 0x1;
const KAIO_WAKEUP = 0x2;

/* Per CPU, in its pcpu (shared/pcpu.ts): its ready jobs, its daemon, whether that has work. */
function aio_cpu(cpu: number): Ptr { return k32[H_OFF_PCPU] + cpu * PCPU_WORDS; }
const AIOCPU = { jobs: PC.pc_aio_jobs, td: PC.pc_aio_td, busy: PC.pc_aio_busy };

const AG_SPIN = KERN.kg_aio_spin, AG_QUEUED = KERN.kg_aio_queued, AG_JOBREF = KERN.kg_aio_jobrefid;
function ag(): Ptr { return kern_globals(); }
function aio_spin(): Ptr { return kern_globals() + AG_SPIN; }

/* The job buffers of this isolate, by handle. */
const bufs = new Map<number, { job: Ptr; buf: Uint8Array; off: number }>();

/*
 * Hand job to its CPU's daemon: its jobs queue, the daemon marked busy (a live thread)
 * and woken.  Under aio_spin; returns the channel to wake after unlocking, or NULL.
 */
function aio_dispatch_locked(job: Ptr): Ptr {
  const c = aio_cpu(k32[job + AIOCB.cpu]);
  TAILQ_INSERT_TAIL(c + AIOCPU.jobs, job, AIOCB.list);
  k32[job + AIOCB.jobstate] = JOBST_JOBQGLOBAL;
  if (k32[c + AIOCPU.busy] === 0) {
    k32[c + AIOCPU.busy] = 1;
    Atomics.add(k32, H_LIVE, 1);
  }
  return c + AIOCPU.jobs;
}

/* aio_init_aioinfo: p's kaioinfo, made on first use; NULL without memory. */
function aio_init_aioinfo(p: Ptr): Ptr {
  let ki = k32[p + PROC.p_aioinfo];
  if (ki === NULL) {
    ki = zalloc(Z_KMALLOC16);
    if (ki === NULL) return NULL;
    k32[p + PROC.p_aioinfo] = ki;
  }
  return ki;
}

/* The calling CPU's daemon, created on first use (a thread is made by its own CPU). */
function aiod_ensure(): number {
  const c = aio_cpu(mycpu.cpuid);
  if (k32[c + AIOCPU.td] !== NULL) return 0;
  const td = lwkt_create(mycpu, `aiod ${mycpu.cpuid}`, TDPRI_KERN_DAEMON, aio_daemon(c), TDF_SYSTHREAD);
  if (td === NULL) return EAGAIN;
  k32[c + AIOCPU.td] = td;
  return 0;
}

/*
 * aio_aqueue (aio_read, aio_write): queue a job of opcode on descriptor fd of the calling
 * process, moving nbytes of buf from off; the handle goes to the kmem word res.  EBADF for
 * a bad fd or a write to a file not open for writing; EAGAIN past the queue limits.  Never
 * blocks.
 */
export function aio_aqueue(fd: number, buf: Uint8Array, off: number, nbytes: number, opcode: number, res: Ptr): number {
  const td = curthread();
  const p = k32[td + TD.td_proc];
  KASSERT(p !== NULL, 'aio_aqueue: no process');
  aio_sweep();
  let error = aiod_ensure();
  if (error !== 0) return error;
  const ki = aio_init_aioinfo(p);
  if (ki === NULL) return ENOBUFS;
  if (Atomics.load(k32, ag() + AG_QUEUED) >= MAX_AIO_QUEUE || k32[ki + KAIO.kaio_queue_count] >= MAX_AIO_QUEUE_PER_PROC) {
    return EAGAIN;
  }
  const fdp = k32[p + PROC.p_fd];
  spin_lock(fdp + FILEDESC.fd_spin);
  const fp = Number.isInteger(fd) && fd >= 0 ? fd_fp_locked(fdp, fd) : NULL;
  if (fp === NULL || (opcode === LIO_WRITE && (Atomics.load(k32, fp + FILE.f_flag) & FWRITE) === 0)) {
    spin_unlock(fdp + FILEDESC.fd_spin);
    return EBADF;
  }
  fhold(fp);
  spin_unlock(fdp + FILEDESC.fd_spin);
  const job = zalloc(Z_KMALLOC16);
  if (job === NULL) {
    error = ENOBUFS;
  } else {
    k32[job + AIOCB.fd_file] = fp;
    k32[job + AIOCB.opcode] = opcode;
    k32[job + AIOCB.nbytes] = nbytes;
    k32[job + AIOCB.status] = -1;
    k32[job + AIOCB.error] = EINPROGRESS;
    k32[job + AIOCB.userproc] = p;
    k32[job + AIOCB.cpu] = mycpu.cpuid;
    let wake = NULL;
    spin_lock(aio_spin());
    const ref = k32[ag() + AG_JOBREF] === 0x7fffffff ? 1 : k32[ag() + AG_JOBREF] + 1;
    k32[ag() + AG_JOBREF] = ref;
    k32[job + AIOCB.jobref] = ref;
    k32[ki + KAIO.kaio_queue_count]++;
    Atomics.add(k32, ag() + AG_QUEUED, 1);
    const so = k32[fp + FILE.f_type] === DTYPE_SOCKET ? k32[fp + FILE.f_data] : NULL;
    if (so !== NULL && (opcode === LIO_READ ? !soreadable(so) : !sowriteable(so))) {
      // Not ready: wait on the socket until sowakeup's aio_swake.
      TAILQ_INSERT_TAIL(so + SO.so_aiojobq, job, AIOCB.list);
      TAILQ_INSERT_TAIL(ki + KAIO.kaio_sockqueue, job, AIOCB.plist);
      Atomics.or(k32, so + (opcode === LIO_READ ? SO.so_rcv : SO.so_snd) + SSB.ssb_flags, SSB_AIO);
      k32[job + AIOCB.jobstate] = JOBST_JOBQSOCK;
    } else {
      TAILQ_INSERT_TAIL(ki + KAIO.kaio_jobqueue, job, AIOCB.plist);
      wake = aio_dispatch_locked(job);
    }
    spin_unlock(aio_spin());
    bufs.set(ref, { job, buf, off });
    if (wake !== NULL) wakeup(wake);
    k32[res] = ref;
    return 0;
  }
  KASSERT(is_done(fdrop(fp)), 'aio_aqueue: the caller\'s descriptor held the file');
  return error;
}

/*
 * aio_swake (sowakeup, SSB_AIO): the sockbuf ssb of so became ready: its jobs (reads for
 * so_rcv, writes for so_snd) go to their daemons.  Never blocks.
 */
export function aio_swake(so: Ptr, ssb: Ptr): void {
  KASSERT(ssb === so + SO.so_rcv || ssb === so + SO.so_snd, 'aio_swake: sockbuf not of this socket');
  const opcode = ssb === so + SO.so_snd ? LIO_WRITE : LIO_READ;
  Atomics.and(k32, ssb + SSB.ssb_flags, ~SSB_AIO);
  const wake: Ptr[] = [];
  spin_lock(aio_spin());
  for (let job = TAILQ_FIRST(so + SO.so_aiojobq); job !== NULL;) {
    const next = TAILQ_NEXT(job, AIOCB.list);
    if (k32[job + AIOCB.opcode] === opcode) {
      const ki = k32[k32[job + AIOCB.userproc] + PROC.p_aioinfo];
      TAILQ_REMOVE(so + SO.so_aiojobq, job, AIOCB.list);
      TAILQ_REMOVE(ki + KAIO.kaio_sockqueue, job, AIOCB.plist);
      TAILQ_INSERT_TAIL(ki + KAIO.kaio_jobqueue, job, AIOCB.plist);
      wake.push(aio_dispatch_locked(job));
    }
    job = next;
  }
  spin_unlock(aio_spin());
  for (const w of wake) wakeup(w);
}

/*
 * aio_process: the job's read or write, on the daemon's thread, with the file's
 * credentials.  A partial transfer ended by a signal or EWOULDBLOCK counts as done; EPIPE
 * on a write signals SIGPIPE to the process.  Blocks.
 */
function* aio_process(job: Ptr, uio: Uio): Blocking<void> {
  const fp = k32[job + AIOCB.fd_file];
  const ent = bufs.get(k32[job + AIOCB.jobref]);
  KASSERT(ent !== undefined, 'aio_process: no buffer for the job in this isolate');
  const cnt = k32[job + AIOCB.nbytes];
  const write = k32[job + AIOCB.opcode] === LIO_WRITE;
  uio_init(uio, ent.buf, ent.off, cnt, write ? UIO_WRITE : UIO_READ, curthread());
  const ops = fileops_of(fp);
  let error = write ? yield* ops.fo_write(fp, uio, k32[fp + FILE.f_cred], 0) : yield* ops.fo_read(fp, uio, k32[fp + FILE.f_cred], 0);
  if (error !== 0 && uio.resid !== cnt) {
    if (error === ERESTART || error === EINTR || error === EWOULDBLOCK) error = 0;
    if (error === EPIPE && write) psignal(k32[job + AIOCB.userproc], SIGPIPE);
  }
  k32[job + AIOCB.error] = error;
  k32[job + AIOCB.status] = cnt - uio.resid;
}

/*
 * The daemon of one CPU: take each ready job, run it, move it to its process's done
 * queue and wake whoever waits (aio_suspend, rundown); when there is none, go idle (not a
 * live thread) and sleep.
 */
function* aio_daemon(c: Ptr): Blocking<void> {
  const uio = new Uio();
  for (;;) {
    crit_enter();
    tsleep_interlock(c + AIOCPU.jobs);
    spin_lock(aio_spin());
    const job = TAILQ_FIRST(c + AIOCPU.jobs);
    if (job === NULL) {
      if (k32[c + AIOCPU.busy] !== 0) {
        k32[c + AIOCPU.busy] = 0;
        Atomics.sub(k32, H_LIVE, 1);
      }
      spin_unlock(aio_spin());
      yield* tsleep(c + AIOCPU.jobs, 0, 'aiordy', 0);
      crit_exit();
      continue;
    }
    TAILQ_REMOVE(c + AIOCPU.jobs, job, AIOCB.list);
    k32[job + AIOCB.jobstate] = JOBST_JOBRUNNING;
    const p = k32[job + AIOCB.userproc];
    const ki = k32[p + PROC.p_aioinfo];
    k32[ki + KAIO.kaio_active_count]++;
    spin_unlock(aio_spin());
    crit_exit();
    yield* aio_process(job, uio);
    spin_lock(aio_spin());
    k32[ki + KAIO.kaio_active_count]--;
    k32[job + AIOCB.jobflags] |= AIOCBLIST_DONE;
    k32[ki + KAIO.kaio_queue_finished_count]++;
    const wakep = (k32[ki + KAIO.kaio_flags] & KAIO_WAKEUP) !== 0 ||
      ((k32[ki + KAIO.kaio_flags] & KAIO_RUNDOWN) !== 0 && k32[ki + KAIO.kaio_active_count] === 0);
    if (wakep) k32[ki + KAIO.kaio_flags] &= ~KAIO_WAKEUP;
    k32[job + AIOCB.jobstate] = JOBST_JOBFINISHED;
    TAILQ_REMOVE(ki + KAIO.kaio_jobqueue, job, AIOCB.plist);
    TAILQ_INSERT_TAIL(ki + KAIO.kaio_jobdone, job, AIOCB.plist);
    const wakejob = (k32[job + AIOCB.jobflags] & AIOCBLIST_RUNDOWN) !== 0;
    k32[job + AIOCB.jobflags] &= ~AIOCBLIST_RUNDOWN;
    spin_unlock(aio_spin());
    if (wakep) wakeup(p + PROC.p_aioinfo);
    if (wakejob) wakeup(job);
  }
}

/* The job of p with handle ref on queue head (a plist queue), or NULL.  Under aio_spin. */
function find_locked(head: Ptr, ref: number): Ptr {
  for (let j = TAILQ_FIRST(head); j !== NULL; j = TAILQ_NEXT(j, AIOCB.plist)) if (k32[j + AIOCB.jobref] === ref) return j;
  return NULL;
}

/*
 * aio_free_entry: forget job (not on any queue but its process's plist queue head, which
 * is given): wait while a daemon runs it; drop its file.  Blocks.
 */
function* aio_free_entry(job: Ptr): Blocking<void> {
  const ki = k32[k32[job + AIOCB.userproc] + PROC.p_aioinfo];
  spin_lock(aio_spin());
  while (k32[job + AIOCB.jobstate] === JOBST_JOBRUNNING) {
    k32[job + AIOCB.jobflags] |= AIOCBLIST_RUNDOWN;
    crit_enter();
    tsleep_interlock(job);
    spin_unlock(aio_spin());
    yield* tsleep(job, 0, 'jobwai', 0);
    crit_exit();
    spin_lock(aio_spin());
  }
  const st = k32[job + AIOCB.jobstate];
  k32[ki + KAIO.kaio_queue_count]--;
  if ((k32[job + AIOCB.jobflags] & AIOCBLIST_DONE) !== 0) k32[ki + KAIO.kaio_queue_finished_count]--;
  Atomics.sub(k32, ag() + AG_QUEUED, 1);
  if (st === JOBST_JOBQGLOBAL) {
    TAILQ_REMOVE(aio_cpu(k32[job + AIOCB.cpu]) + AIOCPU.jobs, job, AIOCB.list);
    TAILQ_REMOVE(ki + KAIO.kaio_jobqueue, job, AIOCB.plist);
  } else if (st === JOBST_JOBFINISHED) {
    TAILQ_REMOVE(ki + KAIO.kaio_jobdone, job, AIOCB.plist);
  } else {
    panic(`aio_free_entry: job in state ${st}`);
  }
  spin_unlock(aio_spin());
  bufs.delete(k32[job + AIOCB.jobref]);
  const fp = k32[job + AIOCB.fd_file];
  zfree(Z_KMALLOC16, job);
  yield* fdrop(fp);
}

/* Forget the buffers of jobs freed in another isolate (a process that ended elsewhere). */
function aio_sweep(): void {
  for (const [ref, ent] of bufs) {
    if (!zone_item_live(k32, ent.job) || k32[ent.job + AIOCB.jobref] !== ref) bufs.delete(ref);
  }
}

/* aio_error: EINPROGRESS while queued or running, else the job's errno (0 for success); -EINVAL when unknown. */
export function aio_error(p: Ptr, ref: number): number {
  const ki = k32[p + PROC.p_aioinfo];
  if (ki === NULL || !Number.isInteger(ref) || ref <= 0) return -EINVAL;
  spin_lock(aio_spin());
  let r = -EINVAL;
  const done = find_locked(ki + KAIO.kaio_jobdone, ref);
  if (done !== NULL) r = k32[done + AIOCB.error];
  else if (find_locked(ki + KAIO.kaio_jobqueue, ref) !== NULL || find_locked(ki + KAIO.kaio_sockqueue, ref) !== NULL) r = EINPROGRESS;
  spin_unlock(aio_spin());
  return r;
}

/*
 * aio_return: the finished job's byte count (or -1 with its error for aio_error to have
 * told), stored in the kmem word res; the job is freed.  EINVAL while it is not finished,
 * or for an unknown handle.  Blocks (the file's last close).
 */
export function* aio_return(p: Ptr, ref: number, res: Ptr): Blocking<number> {
  const ki = k32[p + PROC.p_aioinfo];
  if (ki === NULL || !Number.isInteger(ref) || ref <= 0) return EINVAL;
  spin_lock(aio_spin());
  const job = find_locked(ki + KAIO.kaio_jobdone, ref);
  spin_unlock(aio_spin());
  if (job === NULL) return EINVAL;
  k32[res] = k32[job + AIOCB.status];
  yield* aio_free_entry(job);
  return 0;
}

/*
 * aio_suspend: wait until one of the jobs refs has finished (0 at once if one has, or if
 * the list is empty).  timo in ticks, 0 for no limit: EAGAIN when it passes; EINTR on a
 * signal.  EINVAL for more than AIO_LISTIO_MAX handles.  Blocks.
 */
export function* aio_suspend(p: Ptr, refs: number[], timo: number): Blocking<number> {
  if (refs.length > AIO_LISTIO_MAX) return EINVAL;
  const ki = k32[p + PROC.p_aioinfo];
  if (ki === NULL) return EAGAIN;
  if (refs.length === 0) return 0;
  for (;;) {
    crit_enter();
    tsleep_interlock(p + PROC.p_aioinfo);
    spin_lock(aio_spin());
    let found = false;
    for (let j = TAILQ_FIRST(ki + KAIO.kaio_jobdone); j !== NULL && !found; j = TAILQ_NEXT(j, AIOCB.plist)) {
      found = refs.includes(k32[j + AIOCB.jobref]);
    }
    if (!found) k32[ki + KAIO.kaio_flags] |= KAIO_WAKEUP;
    spin_unlock(aio_spin());
    if (found) {
      crit_exit();
      return 0;
    }
    const error = yield* tsleep(p + PROC.p_aioinfo, PCATCH, 'aiospn', timo);
    crit_exit();
    if (error === ERESTART || error === EINTR) return EINTR;
    if (error === EWOULDBLOCK) return EAGAIN;
  }
}

/*
 * aio_cancel: cancel the jobs on descriptor fd (all, or the one with handle ref) that no
 * daemon has started: those waiting on the socket, and those queued.  They finish with
 * ECANCELED.  AIO_CANCELED, AIO_NOTCANCELED (one is running) or AIO_ALLDONE to the kmem
 * word res; EBADF for a bad descriptor.  Never blocks.
 */
export function aio_cancel(p: Ptr, fd: number, ref: number, res: Ptr): number {
  const fdp = k32[p + PROC.p_fd];
  spin_lock(fdp + FILEDESC.fd_spin);
  const fp = Number.isInteger(fd) && fd >= 0 ? fd_fp_locked(fdp, fd) : NULL;
  spin_unlock(fdp + FILEDESC.fd_spin);
  if (fp === NULL) return EBADF;
  const ki = k32[p + PROC.p_aioinfo];
  let cancelled = 0, notcancelled = 0;
  const wakeps: Ptr[] = [];
  if (ki !== NULL) {
    spin_lock(aio_spin());
    const cancel = (job: Ptr, ownerKi: Ptr): void => {
      TAILQ_INSERT_TAIL(ownerKi + KAIO.kaio_jobdone, job, AIOCB.plist);
      k32[job + AIOCB.jobstate] = JOBST_JOBFINISHED;
      k32[job + AIOCB.jobflags] |= AIOCBLIST_DONE;
      k32[ownerKi + KAIO.kaio_queue_finished_count]++;
      k32[job + AIOCB.status] = -1;
      k32[job + AIOCB.error] = ECANCELED;
      if ((k32[ownerKi + KAIO.kaio_flags] & KAIO_WAKEUP) !== 0) wakeps.push(k32[job + AIOCB.userproc]);
      cancelled++;
    };
    if (k32[fp + FILE.f_type] === DTYPE_SOCKET) {
      const so = k32[fp + FILE.f_data];
      for (let job = TAILQ_FIRST(so + SO.so_aiojobq); job !== NULL;) {
        const next = TAILQ_NEXT(job, AIOCB.list);
        if (ref === 0 || k32[job + AIOCB.jobref] === ref) {
          const oki = k32[k32[job + AIOCB.userproc] + PROC.p_aioinfo];
          TAILQ_REMOVE(so + SO.so_aiojobq, job, AIOCB.list);
          TAILQ_REMOVE(oki + KAIO.kaio_sockqueue, job, AIOCB.plist);
          cancel(job, oki);
        }
        job = next;
      }
    }
    for (let job = TAILQ_FIRST(ki + KAIO.kaio_jobqueue); job !== NULL;) {
      const next = TAILQ_NEXT(job, AIOCB.plist);
      if (k32[job + AIOCB.fd_file] === fp && (ref === 0 || k32[job + AIOCB.jobref] === ref)) {
        if (k32[job + AIOCB.jobstate] === JOBST_JOBQGLOBAL) {
          TAILQ_REMOVE(aio_cpu(k32[job + AIOCB.cpu]) + AIOCPU.jobs, job, AIOCB.list);
          TAILQ_REMOVE(ki + KAIO.kaio_jobqueue, job, AIOCB.plist);
          cancel(job, ki);
        } else {
          notcancelled++;
        }
      }
      job = next;
    }
    spin_unlock(aio_spin());
  }
  for (const wp of wakeps) wakeup(wp + PROC.p_aioinfo);
  k32[res] = notcancelled !== 0 ? AIO_NOTCANCELED : cancelled !== 0 ? AIO_CANCELED : AIO_ALLDONE;
  return 0;
}

/*
 * aio_proc_rundown (exit): wait (bounded) for p's running jobs, take its socket waiters
 * off their sockets, then free every job.  Blocks.
 */
export function* aio_proc_rundown(p: Ptr): Blocking<void> {
  const ki = k32[p + PROC.p_aioinfo];
  if (ki === NULL) return;
  for (;;) {
    crit_enter();
    tsleep_interlock(p + PROC.p_aioinfo);
    spin_lock(aio_spin());
    const active = k32[ki + KAIO.kaio_active_count];
    if (active > 0) k32[ki + KAIO.kaio_flags] |= KAIO_RUNDOWN;
    spin_unlock(aio_spin());
    if (active === 0) {
      crit_exit();
      break;
    }
    const error = yield* tsleep(p + PROC.p_aioinfo, 0, 'kaiowt', AIOD_TIMEOUT);
    crit_exit();
    if (error !== 0) break;
  }
  // Socket waiters back to the ordinary queue, so they are freed with the rest.
  spin_lock(aio_spin());
  for (let job = TAILQ_FIRST(ki + KAIO.kaio_sockqueue); job !== NULL; job = TAILQ_FIRST(ki + KAIO.kaio_sockqueue)) {
    const so = k32[k32[job + AIOCB.fd_file] + FILE.f_data];
    TAILQ_REMOVE(so + SO.so_aiojobq, job, AIOCB.list);
    if (TAILQ_EMPTY(so + SO.so_aiojobq)) {
      Atomics.and(k32, so + SO.so_rcv + SSB.ssb_flags, ~SSB_AIO);
      Atomics.and(k32, so + SO.so_snd + SSB.ssb_flags, ~SSB_AIO);
    }
    TAILQ_REMOVE(ki + KAIO.kaio_sockqueue, job, AIOCB.plist);
    // Finished, uncompleted: nobody will ask.
    TAILQ_INSERT_TAIL(ki + KAIO.kaio_jobdone, job, AIOCB.plist);
    k32[job + AIOCB.jobstate] = JOBST_JOBFINISHED;
  }
  spin_unlock(aio_spin());
  for (;;) {
    spin_lock(aio_spin());
    let job = TAILQ_FIRST(ki + KAIO.kaio_jobdone);
    if (job === NULL) job = TAILQ_FIRST(ki + KAIO.kaio_jobqueue);
    spin_unlock(aio_spin());
    if (job === NULL) break;
    yield* aio_free_entry(job);
  }
  zfree(Z_KMALLOC16, ki);
  k32[p + PROC.p_aioinfo] = NULL;
}

/* Jobs of every process queued now (vfs.aio.num_queue_count). */
export function aio_queued(): number { return Atomics.load(k32, ag() + AG_QUEUED); }
