/*
 * kernel.ts: what a kernel thread's module imports.  A thread is a generator function
 * exported from a module; it runs on a simulated CPU and calls these.  Functions that may
 * block return Blocking<T> and are called with `yield*`.
 */

export * from '../shared/struct.js';
export * from '../shared/errno.js';
export { k32, ku8, kf64 } from '../shared/kmem.js';
export { EFF_SWITCH, EFF_STEP, EFF_SPIN, DONE_VOID, type Blocking, type Effect } from '../shared/effect.js';
export { KASSERT, panic, KernelPanic } from '../shared/panic.js';
export { nanotime } from '../shared/clock.js';
export { spin_init, spin_lock, spin_unlock, spin_trylock, spin_lock_contested, spin_held, SPINLOCK_WORDS } from '../shared/spinlock.js';
export { zalloc, zfree, zone_desc, ZD, Z_THREAD, Z_MSG, Z_PORT, Z_KMALLOC16, Z_KMALLOC64, Z_KMALLOC256, Z_SOCKET, Z_MBUF,
  Z_CLUSTER, Z_FILE, Z_PROC, Z_CALLOUT } from '../shared/zone.js';
export { lockclass_register } from '../shared/lockstat.js';
export { mycpuid, ncpus } from '../shared/cpu.js';
export * from './lwkt/thread.js';
export * from './sys/msgport.js';
export { curthread, mycpu } from './lwkt/globaldata.js';
export { kfunc_register, kfunc_id } from './lwkt/kfunc.js';
export { lwkt_send_ipiq, lwkt_send_ipiq3 } from './lwkt/lwkt_ipiq.js';
export { lwkt_schedule, lwkt_deschedule, lwkt_deschedule_self, lwkt_switch, lwkt_yield, lwkt_step, crit_enter,
  crit_exit, crit_count, lwkt_setcpu_self, td_name } from './lwkt/lwkt_thread.js';
export * from './lwkt/lwkt_token.js';
export * from './lwkt/kern_synch.js';
export * from './lwkt/kern_timeout.js';
export * from './lwkt/lwkt_msgport.js';
export * from './lwkt/lwkt_serialize.js';
export { witness_sleeplock_class } from './kern/subr_witness.js';
export * from './sys/mbuf.js';
export * from './kern/uipc_mbuf.js';
export * from './kern/uipc_sockbuf.js';
export * from './sys/socket.js';
export * from './sys/socketvar.js';
export * from './sys/protosw.js';
export * from './kern/uipc_domain.js';
export * from './kern/kern_sysctl.js';
export * from './kern/uipc_socket2.js';
export * from './sys/proc.js';
export * from './sys/file.js';
export * from './kern/kern_resource.js';
export * from './kern/kern_prot.js';
export * from './kern/kern_descrip.js';
export * from './kern/kern_proc.js';
export * from './kern/kern_exit.js';
export * from './kern/kern_exec_args.js';
export * from './kern/sys_generic.js';
export * from './sys/poll.js';
export * from './sys/event.js';
export * from './kern/kern_event.js';
export * from './kern/kern_sig.js';
export * from './kern/uipc_socket.js';
export * from './kern/uipc_msg.js';
export * from './kern/sys_socket.js';
export * from './kern/uipc_syscalls.js';
export * from './sys/unpcb.js';
export * from './kern/vfs_unixsock.js';
export * from './kern/uipc_usrreq.js';
export * from './kern/sys_console.js';
export * from './kern/kern_exec.js';
export { exec_request, thread_reserve, thread_unreserve, thread_done, kern_thread_join, ER_SPAWN, ER_FORK, ER_THREAD } from './kern/kern_fork.js';
