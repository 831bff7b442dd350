// Which characters a configuration line may hold outside its comments. keepalived separates words
// with isspace() in the C locale (space, tab, form feed, vertical tab, CR, new line); anything else
// that is not printable (a non-breaking space pasted from a web page, a control character, a byte
// that is not UTF-8) is an error at its column, not part of a word nobody can see.

const SEPARATORS = new Set([' ', '\t', '\f', '\v', '\r']);
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Z}\p{Co}\p{Cn}\uFFFD]/u;

const NAMES: Readonly<Record<number, string>> = {
  0xa0: 'a non-breaking space',
  0x2007: 'a figure space',
  0x202f: 'a narrow non-breaking space',
  0x200b: 'a zero-width space',
  0xfeff: 'a byte order mark',
  0xfffd: 'a byte that is not UTF-8',
};

/** Why the character at text[i] cannot be in a configuration line, or null when it can. */
export function badCharacter(text: string, i: number): string | null {
  const c = text[i]!;
  if (SEPARATORS.has(c)) return null;
  const code = c.codePointAt(0)!;
  if (code >= 0x21 && code < 0x7f) return null;
  // A surrogate pair (an emoji in a quoted string) is printable; judge the pair once.
  if (code >= 0xd800 && code <= 0xdfff) {
    const pair = text.codePointAt(code <= 0xdbff ? i : i - 1) ?? 0;
    return pair > 0xffff ? null : 'a byte that is not UTF-8';
  }
  if (!INVISIBLE.test(c)) return null;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const what = NAMES[code] ?? (code < 0x20 || (code >= 0x7f && code <= 0x9f) ? 'a control character' : 'an invisible character');
  return `${what} (${hex}) is not a separator keepalived or ldirectord reads; write a plain space (or remove it)`;
}
