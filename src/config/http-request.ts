// What an HTTP check request may contain. The checker writes the request byte for byte, so anything
// that could split it is rejected; the config validates with these same predicates, so check-config
// refuses what every check would fail with at run time.

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const PATH = /^\/[\x21-\x7e]*$/;

/** Why a request path cannot be sent, or null. */
export function pathProblem(path: string): string | null {
  return PATH.test(path) ? null : `invalid path ${JSON.stringify(path)}: must start with "/" and be printable ASCII without spaces (percent-encode the rest, e.g. %20)`;
}

export function headerNameProblem(name: string): string | null {
  return TOKEN.test(name) ? null : `invalid header name ${JSON.stringify(name)} (letters, digits and !#$%&'*+-.^_\`|~ only)`;
}

export function headerValueProblem(name: string, value: string): string | null {
  return FIELD_VALUE.test(value) ? null : `invalid value for header ${name}: control characters or characters beyond Latin-1`;
}

/** The first problem of a request's path and headers (a flat [name, value, ...] list), or null. */
export function requestProblem(path: string, headers: readonly string[]): string | null {
  const p = pathProblem(path);
  if (p !== null) return p;
  for (let i = 0; i < headers.length; i += 2) {
    const problem = headerNameProblem(headers[i]!) ?? headerValueProblem(headers[i]!, headers[i + 1]!);
    if (problem !== null) return problem;
  }
  return null;
}
