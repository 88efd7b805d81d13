/*
 * liveness.ts: what a deadlocked machine's threads wait for, in words.  A deadlock
 * (PanicError kind 'deadlock', either engine) appends this to its report: for every
 * thread that is not running, what it waits on and who could end the wait.
 *
 *   - a tsleep: the wait channel and wmesg, and what the channel is ("so_rcv.ssb_cc of
 *     socket 0x1a2c0 (fd 3 of pid 2)": data to arrive), and for a sleep lock's word the
 *     lock's class and the thread holding it (from WITNESS's held lists: known only with
 *     witness: true);
 *   - a message (lwkt_domsg / lwkt_waitmsg): the message, its command, the port it was
 *     sent to and the thread that owns that port, and how far it got (queued there, taken,
 *     replied);
 *   - a token (a runnable thread that cannot resume): the token's class and the thread
 *     that holds it;
 *   - the sleep locks the thread holds (WITNESS), and any token it owns while blocked
 *     (which the token rule forbids: flagged).
 *
 * Then the wait-for cycle, when the edges above close one.  Reads kmem through explicit
 * views on the host: the CPUs are idle (or stopped) when a deadlock is declared.
 */

import { kmem_getstr, kmem_views, H_OFF_ZONES, H_OFF_LOCKCLASS, H_WITNESS, H_WORDS } from '../../shared/kmem.js';
import { kstr_read } from '../../shared/kstr.js';
import { ZD, Z_THREAD, zone_item_live } from '../../shared/zone.js';
import { TD_COMM_BYTES } from '../../shared/param.js';
import { TD, TDF_BLOCKED, TDF_RUNNING, TDF_SYSTHREAD, TDF_TOKWAIT, TDF_TSLEEPQ, TDPRI_IDLE_THREAD, thread_state_name } from '../lwkt/thread.js';
import { TOK } from '../lwkt/lwkt_token.js';
import { MSG, PORT, MSGF_DONE, MSGF_QUEUED, MSGF_REPLY, MSGF_NAMES, MPT_NAMES, MPT_THREAD } from '../sys/msgport.js';
import { PROC } from '../sys/proc.js';
import { SO, SSB, SSB_LOCK, SSB_NAMES } from '../sys/socketvar.js';
import { hex, socket_of, thread_label, whatis } from '../kern/kern_whatis.js';
import { witness_held, witness_holder } from '../kern/subr_witness.js';

interface Td { td: number; id: number; name: string; flags: number }

function threads_of(i32: Int32Array, u8: Uint8Array): Td[] {
  const zd = i32[H_OFF_ZONES] + Z_THREAD * ZD.SIZE;
  const base = i32[zd + ZD.zd_base], words = i32[zd + ZD.zd_item_words], count = i32[zd + ZD.zd_count];
  const out: Td[] = [];
  for (let i = 0; i < count; i++) {
    const td = base + i * words;
    if (!zone_item_live(i32, td) || i32[td + TD.td_id] === 0) continue;
    out.push({ td, id: i32[td + TD.td_id], name: kmem_getstr(u8, (td + TD.td_comm) * 4, TD_COMM_BYTES), flags: i32[td + TD.td_flags] });
  }
  return out;
}

function class_name(i32: Int32Array, u8: Uint8Array, cls: number): string {
  return kstr_read(i32, u8, i32[i32[H_OFF_LOCKCLASS] + 1 + cls]);
}

/* What a sleep on channel w is, when the channel is a socket word. */
function channel_meaning(i32: Int32Array, w: number): string {
  const so = socket_of(i32, w);
  if (so === 0) return '';
  const off = w - so;
  if (off === SO.so_rcv + SSB.ssb_cc) return ': data to arrive in so_rcv';
  if (off === SO.so_snd + SSB.ssb_cc) return ': space in so_snd';
  if (off === SO.so_timeo) return ': a connection or disconnection (connect, accept, linger)';
  return '';
}

export function liveness_report(sab: SharedArrayBuffer): string {
  try {
    return report(sab);
  } catch (e) {
    return `liveness: the report failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

function report(sab: SharedArrayBuffer): string {
  const { i32, u8 } = kmem_views(sab);
  const witness = i32[H_WITNESS] !== 0;
  const all = threads_of(i32, u8);
  const byTd = new Map(all.map((t) => [t.td, t]));
  const byId = new Map(all.map((t) => [t.id, t]));
  const label = (td: number): string => {
    const t = byTd.get(td);
    if (t === undefined) return td === 0 ? 'nobody' : `thread at ${hex(td)} (gone)`;
    return `thread ${t.id} '${t.name}' (${thread_state_name(t.flags, i32[td + TD.td_wchan])})`;
  };
  const waits = new Map<number, number>();   // thread td -> the thread td it waits for
  const lines: string[] = ['liveness: what each thread waits for'];
  for (const t of all) {
    const td = t.td;
    if (i32[td + TD.td_pri] === TDPRI_IDLE_THREAD && /^idle\d+$/.test(t.name)) continue;
    const f = t.flags;
    const proc = i32[td + TD.td_proc];
    const pid = proc > 0 && proc < i32[H_WORDS] ? `, pid ${i32[proc + PROC.p_pid]}` : '';
    const head = `  ${thread_label(i32, u8, td)} (cpu ${i32[td + TD.td_cpu]}${pid}${(f & TDF_SYSTHREAD) !== 0 ? ', system thread' : ''})`;
    const what: string[] = [];
    const wchan = i32[td + TD.td_wchan];
    const wmesg = kstr_read(i32, u8, i32[td + TD.td_wmesg]);
    const wmsg = i32[td + TD.td_wmsg];
    if ((f & TDF_RUNNING) !== 0) {
      what.push('running');
    } else if ((f & TDF_TSLEEPQ) !== 0 && wchan !== 0) {
      let s = `sleeps in tsleep on ${hex(wchan)} '${wmesg}': ${whatis(i32, u8, wchan)}${channel_meaning(i32, wchan)}`;
      const so = socket_of(i32, wchan);
      const off = so !== 0 ? wchan - so : -1;
      const holder = witness_holder(i32, wchan);
      const lockword = holder !== 0 || off === SO.so_rcv + SSB.ssb_flags || off === SO.so_snd + SSB.ssb_flags ||
        wmesg === 'sblock' || wmesg === 'slzwait';
      if (lockword) {
        const flags = Atomics.load(i32, wchan);
        const h = holder !== 0 ? byId.get(holder) : undefined;
        const cls = h !== undefined ? witness_held(i32, u8, h.td).find((x) => x.lock === wchan)?.cls : undefined;
        s += `\n      the sleep lock${cls !== undefined ? ' ' + cls : ''} ${(flags & SSB_LOCK) !== 0 ? 'is held' : 'is free now (a lost wake-up?)'} (flags ${SSB_NAMES(flags)})`;
        if ((flags & SSB_LOCK) !== 0) {
          if (h !== undefined) {
            s += ` by ${label(h.td)}`;
            waits.set(td, h.td);
          } else s += witness ? ' by a thread WITNESS does not know' : ' (boot with witness: true to know by whom)';
        }
      }
      what.push(s);
    } else if (wmsg !== 0) {
      const mf = i32[wmsg + MSG.ms_flags];
      const target = i32[wmsg + MSG.ms_target_port];
      const cmd = i32[wmsg + MSG.ms_cmd] > 0 ? ` '${kstr_read(i32, u8, i32[wmsg + MSG.ms_cmd])}'` : '';
      let s = `waits for the reply to message ${hex(wmsg)}${cmd} (flags ${MSGF_NAMES(mf)})`;
      if (target !== 0) {
        const type = i32[target + PORT.mp_type];
        const owner = type === MPT_THREAD ? i32[target + PORT.mp_td] : 0;
        s += ` sent to ${MPT_NAMES[type] ?? '?'} port ${hex(target)}${owner !== 0 ? ` of ${label(owner)}` : ''}`;
        if ((mf & MSGF_DONE) !== 0) s += ': done';
        else if ((mf & MSGF_REPLY) !== 0) s += ': replied, the reply not yet completed on this CPU';
        else if ((mf & MSGF_QUEUED) !== 0) s += ': queued there, not yet taken';
        else s += ': taken by its target, not yet replied';
        if (owner !== 0 && (mf & (MSGF_DONE | MSGF_REPLY)) === 0) waits.set(td, owner);
      }
      what.push(s);
    } else if ((f & TDF_BLOCKED) !== 0) {
      const port = td + TD.td_msgport;
      const queued = i32[port + PORT.mp_msgq_head] !== 0 || i32[port + PORT.mp_prioq_head] !== 0;
      what.push(`blocked in lwkt_sleep '${wmesg}'${wmesg === 'waitport' ? `: a message on its own port ${hex(port)}${queued ? ' (one is queued: a lost wake-up?)' : ''}` : ''}`);
    } else if ((f & TDF_TOKWAIT) !== 0 || i32[td + TD.td_ntoks] !== 0) {
      const n = i32[td + TD.td_ntoks];
      let s = '';
      for (let i = 0; i < n && s === ''; i++) {
        const tok = i32[td + TD.td_toks + i];
        const owner = Atomics.load(i32, tok + TOK.t_owner);
        if (owner !== td && owner !== 0) {
          s = `runnable, waits for token ${class_name(i32, u8, i32[tok + TOK.t_class])} ${hex(tok)} (${whatis(i32, u8, tok)}) held by ${label(owner)}`;
          waits.set(td, owner);
        }
      }
      what.push(s !== '' ? s : `${thread_state_name(f, wchan)}`);
    } else {
      what.push(thread_state_name(f, wchan));
    }
    // Tokens owned while not running break the token rule.
    if ((f & TDF_RUNNING) === 0) {
      for (let i = 0; i < i32[td + TD.td_ntoks]; i++) {
        const tok = i32[td + TD.td_toks + i];
        if (Atomics.load(i32, tok + TOK.t_owner) === td && (f & TDF_TOKWAIT) === 0) {
          what.push(`!! owns token ${class_name(i32, u8, i32[tok + TOK.t_class])} ${hex(tok)} while not running (tokens are released at every switch)`);
        }
      }
    }
    for (const h of witness_held(i32, u8, td)) what.push(`holds ${h.kind} ${h.cls} ${hex(h.lock)} (${whatis(i32, u8, h.lock)})`);
    lines.push(`${head}: ${what[0]}`);
    for (const w of what.slice(1)) lines.push(`      ${w}`);
  }
  // The wait-for cycle, if the edges close one.
  for (const start of waits.keys()) {
    const seen: number[] = [];
    let x: number | undefined = start;
    while (x !== undefined && !seen.includes(x)) { seen.push(x); x = waits.get(x); }
    if (x !== undefined) {
      const cyc = seen.slice(seen.indexOf(x));
      lines.push(`  wait-for cycle: ${[...cyc, x].map((td) => { const t = byTd.get(td); return t ? `${t.id} '${t.name}'` : hex(td); }).join(' -> ')}`);
      break;
    }
  }
  if (!witness) lines.push('  (boot with witness: true to see the sleep locks each thread holds, and who holds a sleep lock another waits for)');
  return lines.join('\n');
}
