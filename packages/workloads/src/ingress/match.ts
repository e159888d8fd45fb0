/**
 * Ingress host and path matching, as the Kubernetes Ingress API defines it:
 *
 *   host   "foo.bar.com"  matches that Host header only (case-insensitive, port ignored)
 *          "*.foo.com"    matches exactly one more DNS label: bar.foo.com, not
 *                         baz.bar.foo.com, not foo.com
 *   path   Exact   /foo   matches /foo only (not /foo/)
 *          Prefix  /foo   matches /foo, /foo/, /foo/bar — element-wise on "/",
 *                         so not /foobar; a trailing "/" on either side is ignored
 *          ImplementationSpecific is treated as Prefix here.
 *
 * Pure functions. The router looks a host up by its exact name, then by the
 * name minus its first label (so "*.foo.com" covers exactly one label), and
 * orders paths longest first, Exact before Prefix of the same length.
 */

export type PathType = 'Exact' | 'Prefix';

/** Normalises a Host header (or :authority): lower case, no port, no trailing dot. */
export function normalizeHost(raw: string | undefined): string {
  if (!raw) return '';
  let h = raw.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(0, end + 1) : h;
  }
  const colon = h.indexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** The suffix a wildcard host covers ("*.foo.com" → ".foo.com"), or undefined for an exact host. */
export function wildcardSuffix(ruleHost: string): string | undefined {
  return ruleHost.startsWith('*.') ? ruleHost.slice(1).toLowerCase() : undefined;
}

/** The request path without query string or fragment. */
export function requestPath(url: string | undefined): string {
  if (!url) return '/';
  let end = url.length;
  const q = url.indexOf('?');
  if (q >= 0) end = q;
  const h = url.indexOf('#');
  if (h >= 0 && h < end) end = h;
  const p = url.slice(0, end);
  return p.startsWith('/') ? p : `/${p}`;
}

/** Strips trailing slashes from a Prefix path ("/foo/" → "/foo", "/" → ""). */
export function prefixKey(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47 /* / */) end--;
  return path.slice(0, end);
}

/** Whether a rule path of `type` matches request path `reqPath`. For Prefix, pass the rule path through prefixKey first. */
export function pathMatches(type: PathType, rulePath: string, reqPath: string): boolean {
  if (type === 'Exact') return rulePath === reqPath;
  // rulePath is the prefix key: "" (root) matches everything.
  if (rulePath === '') return true;
  if (!reqPath.startsWith(rulePath)) return false;
  if (reqPath.length === rulePath.length) return true;
  return reqPath.charCodeAt(rulePath.length) === 47;
}
