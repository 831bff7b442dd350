// `lvsd convert` entry: detect the input format and run its importer. The converters live in
// src/convert/, apart from config/ (the runtime configuration), which they only write for.

import type { ConvertResult, Format } from './model.js';
import { convertKeepalived } from './keepalived.js';
import { convertLdirectord } from './ldirectord.js';
import type { KeepalivedReadOptions } from './keepalived-parse.js';

export type { ConvertResult, Format, OutMap, OutValue } from './model.js';
export type { DirectiveRecord } from './ledger.js';
export { dropped, tally } from './ledger.js';

/** keepalived.conf is made of { blocks }; ldirectord.cf of key=value lines. null when neither shows. */
export function detectFormat(text: string): Format | null {
  const body = text.split('\n').filter((l) => !/^\s*[#!]/.test(l)).join('\n');
  if (/^\s*(virtual_server|virtual_server_group|global_defs|vrrp_\w+)\b[^=\n]*\{?/m.test(body) && /[{}]/.test(body)) return 'keepalived';
  if (/^\s*(virtual6?|real6?|checktimeout|checkinterval|negotiatetimeout|quiescent|fallback6?|autoreload|logfile)\s*=/m.test(body)) return 'ldirectord';
  return null;
}

/** The keepalived reader's options (includes within the input budget, the config id); ldirectord.cf has none. */
export function convert(format: Format, file: string, text: string, options: KeepalivedReadOptions = {}): Promise<ConvertResult> {
  return format === 'keepalived' ? convertKeepalived(file, text, options) : convertLdirectord(file, text);
}
