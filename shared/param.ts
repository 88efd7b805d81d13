/*
 * param.ts: every fixed limit of the simulated machine, one per line, with its unit.
 * Sizes that depend on boot parameters (zone counts) are computed in kmem_layout.ts.
 */

export const KMEM_MAGIC = 0x544b574c;       // 'LWKT' little-endian: first word of kmem
export const KMEM_VERSION = 3;              // layout version; bump when a struct changes

export const NCPU_MAX = 32;                 // simulated CPUs; CPU masks are one 32-bit word
export const LINE_WORDS = 16;               // one 64-byte cache line, in 32-bit words

export const IPIQ_SLOTS = 64;               // entries per (source, target) IPI ring; a power of two
export const IPIQ_ENTRY_WORDS = 4;          // fn, arg1, arg2, arg3
export const IPIQ_DRAIN_AT = IPIQ_SLOTS / 2; // a sender facing this many pending drains its own inbox
export const IPIQ_DRAIN_TO = IPIQ_SLOTS / 4; // ... until no more than this many remain

export const IDLE_POLLS = 2000;             // inbox polls before an idle CPU sleeps (a few µs here)
export const IDLE_WAIT_MS = 20;             // longest single Atomics.wait of an idle CPU (control RPC)
export const SLICE_MS = 10;                 // longest run of the CPU loop before it yields to its event loop
export const SPIN_TRIES = 100;              // spinlock: busy polls before the futex wait
export const SPIN_WAIT_MS = 20;             // spinlock: longest futex wait before re-checking for panic

export const SLPQUE_BUCKETS = 1024;         // per-CPU tsleep hash buckets (DragonFly: TABLESIZE)
export const TD_MAXTOKENS = 16;             // token references one thread may hold
export const TD_COMM_BYTES = 24;            // thread name bytes kept in kmem
export const TD_KSTACK_WORDS = 128;         // a thread's kmem kernel stack (lwkt_kstack.ts): syscall scratch and stack netmsgs
export const NQS = 32;                      // run queues per CPU, one per TDPRI level

export const KSTR_MAX = 4096;               // interned strings (names, wait messages, functions)
export const KSTR_HEAP_BYTES = 128 * 1024;  // bytes for their text
export const LOCKCLASS_MAX = 256;           // lock classes with statistics
export const LOCKSTAT_SAMPLE_MASK = 63;     // hold time is timed on 1 acquisition in 64 per CPU
export const PANICMSG_BYTES = 2048;         // panic message kept in the kmem header

export const HZ = 100;                      // ticks per second (DragonFly's default hz)
export const DET_STEP_NS = 200;             // virtual time one deterministic step costs (a resume; its scheduling points add theirs)

export const ZONE_MAX = 32;                 // zones in kmem
