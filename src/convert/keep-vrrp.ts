// `--keep-vrrp`: the keepalived.conf text without its virtual_server and virtual_server_group blocks,
// so keepalived keeps doing VRRP while lvsd takes over the checking.

/** Braces of one line outside comments and quoted strings. */
function braceDelta(line: string): number {
  let d = 0;
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '!' || c === '#')) break;
    else if (!quoted && c === '{') d++;
    else if (!quoted && c === '}') d--;
  }
  return d;
}

export function withoutVirtualServers(text: string, source: string): { text: string; removed: number } {
  const lines = text.split('\n');
  const out: string[] = [];
  let depth = 0;
  let skipping = false;
  let skipStartDepth = 0;
  let removed = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const delta = braceDelta(line);
    if (!skipping && depth === 0 && /^\s*virtual_server(_group)?\b/.test(line)) {
      skipping = true;
      skipStartDepth = depth;
      removed++;
      out.push(`# ${line.trim().replace(/\s*\{.*$/, '')}: moved to lvsd (lvsd convert ${source}, line ${i + 1})`);
    }
    depth += delta;
    if (skipping) {
      // The block ends when the depth is back where it started and its "{" has been seen.
      if (depth <= skipStartDepth && (delta !== 0 || /\}/.test(line))) skipping = false;
      continue;
    }
    out.push(line);
  }
  return { text: out.join('\n'), removed };
}
