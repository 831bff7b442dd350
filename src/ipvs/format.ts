// IpvsOp -> one `ipvsadm -R` line. Edits restate everything, because ipvsadm -E/-e reset every
// option left out to its default (scheduler wlc, no persistence, gate, weight 1, no thresholds).

import type { IpvsOp, IpvsReal, IpvsServiceHead, IpvsTable } from './model.js';
import { ipvsadmEndpoint } from './keys.js';

const FORWARDING_FLAG = { gate: '-g', masq: '-m', ipip: '-i' } as const;
const PROTOCOL_FLAG = { tcp: '-t', udp: '-u', sctp: '--sctp-service' } as const;

/** A token must stay one token in the -R stream: no whitespace, nothing empty. */
function token(value: string, what: string): string {
  if (!/^\S+$/.test(value)) throw new TypeError(`ipvsadm ${what} ${JSON.stringify(value)} is not a single word`);
  return value;
}

/** "-t 192.0.2.10:80", "-u [2001:db8::10]:53", "--sctp-service 192.0.2.10:3868", "-f 12", "-f 13 -6". */
export function serviceArgs(service: IpvsServiceHead): string {
  if (service.kind === 'fwmark') return service.family === 6 ? `-f ${service.fwmark} -6` : `-f ${service.fwmark}`;
  return `${PROTOCOL_FLAG[service.protocol]} ${ipvsadmEndpoint(service.vip)}`;
}

/** Scheduler, persistence and preserved flags of an -A/-E line. The netmask is always written:
 *  IPv4 dotted (ipvsadm reads "24" as 0.0.0.24), IPv6 a prefix length (ipvsadm rejects dotted). */
function serviceOptions(service: IpvsServiceHead): string {
  let out = ` -s ${token(service.scheduler, 'scheduler')}`;
  if (service.persistence) {
    const { timeoutS, netmask } = service.persistence;
    if (!Number.isInteger(timeoutS) || timeoutS < 1) throw new TypeError(`persistence timeout ${timeoutS} is not a positive integer`);
    out += ` -p ${timeoutS} -M ${token(netmask, 'netmask')}`;
  }
  for (const arg of service.extraArgs) out += ` ${token(arg, 'argument')}`;
  return out;
}

/** "-r 10.0.0.11:80 -m -w 100" plus -x/-y when set. Port 0 is written ("[2001:db8::1]:0"). */
function realOptions(real: IpvsReal): string {
  let out = ` -r ${ipvsadmEndpoint(real.address)} ${FORWARDING_FLAG[real.forwarding]} -w ${real.weight}`;
  if (real.upperThreshold > 0) out += ` -x ${real.upperThreshold}`;
  if (real.lowerThreshold > 0) out += ` -y ${real.lowerThreshold}`;
  if (real.forwarding === 'ipip' && real.tunnel) for (const arg of real.tunnel) out += ` ${token(arg, 'tunnel option')}`;
  return out;
}

/** One ipvsadm -R line (no "ipvsadm" prefix, no newline). */
export function formatOp(op: IpvsOp): string {
  const svc = serviceArgs(op.service);
  switch (op.op) {
    case 'add-service':
      return `-A ${svc}${serviceOptions(op.service)}`;
    case 'edit-service':
      return `-E ${svc}${serviceOptions(op.service)}`;
    case 'delete-service':
      return `-D ${svc}`;
    case 'add-real':
      return `-a ${svc}${realOptions(op.real)}`;
    case 'edit-real':
      return `-e ${svc}${realOptions(op.real)}`;
    case 'delete-real':
      return `-d ${svc} -r ${ipvsadmEndpoint(op.real.address)}`;
  }
}

/** The add operations that build `table` from nothing, in order (services before their reals). */
export function addOps(table: IpvsTable): IpvsOp[] {
  const ops: IpvsOp[] = [];
  for (const service of table.services.values()) {
    const { reals, ...rest } = service;
    const head: IpvsServiceHead = rest;
    ops.push({ op: 'add-service', service: head });
    for (const real of reals.values()) ops.push({ op: 'add-real', service: head, real });
  }
  return ops;
}
