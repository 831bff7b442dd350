// ICMP echo check through the system's ping (iputils-ping): one echo request, argv without a shell,
// run like a MISC command (own process group, the whole group killed on timeout).
//
// Why the system's ping and not a raw socket of our own: Node has no ICMP sockets, and ping is
// what ldirectord (checktype=ping) and keepalived (PING_CHECK) users already trust; it needs no
// privilege of ours beyond what the distribution grants ping (file capability or ping_group_range).

import { formatEndpoint, formatHost } from '../config/endpoint.js';
import type { MiscCheckSpec } from '../config/model.js';
import { checkMisc } from './misc.js';
import type { Checker, CheckReasonCode, CheckTarget } from './types.js';

/** argv of one echo request: numeric, quiet, one packet, reply awaited for the check's timeout. */
export function pingArgv(target: CheckTarget): string[] {
  const seconds = Math.max(0.001, target.spec.timeoutMs / 1000);
  return [
    'ping',
    target.address.family === 6 ? '-6' : '-4',
    '-n',
    '-q',
    '-c', '1',
    // iputils takes fractional seconds; our deadline (which kills the group) is the real bound.
    '-W', String(Math.round(seconds * 1000) / 1000),
    target.address.host,
  ];
}

// One derived MISC target per ping target (the scheduler keeps one target object per probe).
const miscTargets = new WeakMap<CheckTarget, CheckTarget>();

function asMisc(target: CheckTarget): CheckTarget {
  let t = miscTargets.get(target);
  if (t === undefined) {
    const { intervalMs, timeoutMs, rise, fall, port } = target.spec;
    const spec: MiscCheckSpec = { type: 'misc', intervalMs, timeoutMs, rise, fall, port, command: pingArgv(target), dynamicWeight: false };
    t = { address: target.address, spec, context: target.context };
    miscTargets.set(target, t);
  }
  return t;
}

export const checkPing: Checker = async (target, signal) => {
  if (target.spec.type !== 'ping') throw new TypeError(`checkPing given a ${target.spec.type} check`);
  const misc = asMisc(target);
  const r = await checkMisc(misc, signal);
  const spec = misc.spec as MiscCheckSpec;
  // checkMisc labels its reasons "MISC <argv> @<real>: "; ours say what was checked.
  const miscLabel = `MISC ${spec.command.join(' ')} @${formatEndpoint({ ...misc.address, port: spec.port })}: `;
  const detail = r.reason.startsWith(miscLabel) ? r.reason.slice(miscLabel.length) : r.reason;
  let code: CheckReasonCode = r.code;
  let text = detail;
  if (r.up) text = 'echo reply';
  else if (/^exit 1\b/.test(detail)) [code, text] = ['timeout', `no echo reply within ${target.spec.timeoutMs} ms`];
  else if (/^exit 2\b/.test(detail)) [code, text] = ['unreachable', `ping failed: ${detail}`];
  return { ...r, code, reason: `PING ${formatHost(target.address)}: ${text}` };
};
