// Writes an OutDoc as YAML text with its comments at their places. Hand-written rather than the
// yaml library's stringifier because comments must sit before precise keys and list items.

import type { OutDoc, OutMap, OutValue } from './model.js';

const PLAIN = /^[A-Za-z0-9_/@.][A-Za-z0-9_/@.:+-]*$/;
const RESERVED = /^(?:true|false|yes|no|on|off|null|y|n|~)$/i;
const NUMBERISH = /^[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$|^0x|^0o|^\.inf$|^\.nan$/i;

/** A scalar as YAML: plain when unambiguous, else double-quoted (JSON strings are valid YAML). */
export function scalar(v: string | number | boolean): string {
  if (typeof v !== 'string') return String(v);
  if (PLAIN.test(v) && !RESERVED.test(v) && !NUMBERISH.test(v) && !v.includes(': ') && !v.endsWith(':')) return v;
  return JSON.stringify(v);
}

function isMapValue(v: OutValue): v is OutMap {
  return typeof v === 'object' && !Array.isArray(v);
}

/** Comments whose key was not written move up to the nearest key that was (or the document top). */
function placeComments(doc: OutDoc): Map<string, string[]> {
  const exists = (path: string): boolean => {
    if (path === '') return true;
    let v: OutValue | undefined = doc.value;
    for (const seg of path.split('.')) {
      if (v === undefined || typeof v !== 'object') return false;
      v = Array.isArray(v) ? v[Number(seg)] : (v as OutMap)[seg];
    }
    return v !== undefined;
  };
  const placed = new Map<string, string[]>();
  for (const [path, lines] of doc.comments) {
    let p = path;
    while (!exists(p)) p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '';
    placed.set(p, [...(placed.get(p) ?? []), ...lines]);
  }
  return placed;
}

export function writeDoc(doc: OutDoc, header: readonly string[] = []): string {
  const out: string[] = header.map((h) => (h === '' ? '#' : `# ${h}`));
  const placed = placeComments(doc);
  const comments = (path: string, indent: string): void => {
    for (const c of placed.get(path) ?? []) {
      for (const line of c.split('\n')) out.push(`${indent}# lvsd convert: ${line}`);
    }
  };
  comments('', '');
  const writeMap = (map: OutMap, path: string, indent: string, firstPrefix: string | null): void => {
    let first = true;
    for (const [key, value] of Object.entries(map)) {
      const p = path === '' ? key : `${path}.${key}`;
      const lead = first && firstPrefix !== null ? firstPrefix : indent;
      if (!(first && firstPrefix !== null)) comments(p, indent);
      first = false;
      const k = scalar(key);
      if (Array.isArray(value)) {
        if (value.length === 0) {
          out.push(`${lead}${k}: []`);
          continue;
        }
        out.push(`${lead}${k}:`);
        writeList(value, p, `${indent}  `);
      } else if (isMapValue(value)) {
        if (Object.keys(value).length === 0) {
          out.push(`${lead}${k}: {}`);
          continue;
        }
        out.push(`${lead}${k}:`);
        writeMap(value, p, `${indent}  `, null);
      } else {
        out.push(`${lead}${k}: ${scalar(value)}`);
      }
    }
  };
  const writeList = (list: OutValue[], path: string, indent: string): void => {
    list.forEach((item, i) => {
      const p = `${path}.${i}`;
      comments(p, indent);
      if (isMapValue(item) && Object.keys(item).length > 0) {
        // Comments of the item's first key go before the "- " line.
        const firstKey = Object.keys(item)[0]!;
        comments(`${p}.${firstKey}`, indent);
        writeMap(item, p, `${indent}  `, `${indent}- `);
      } else if (Array.isArray(item)) {
        out.push(`${indent}- ${JSON.stringify(item)}`);
      } else if (isMapValue(item)) {
        out.push(`${indent}- {}`);
      } else {
        out.push(`${indent}- ${scalar(item)}`);
      }
    });
  };
  if (Object.keys(doc.value).length === 0) out.push('{}');
  else writeMap(doc.value, '', '', null);
  return `${out.join('\n')}\n`;
}
