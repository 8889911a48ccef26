/**
 * Request targets, parsed once: the calls of a profile go to the same few
 * endpoint URLs, and parsing one (then turning it into node:http's options)
 * would otherwise be a step on every call's way to the backend.
 */

/** node:http's options for a URL's target (what its `urlToHttpOptions` gives for a request). */
export interface TargetOptions {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  auth?: string;
}

/** At most this many distinct URLs are kept; the cache starts over when full. */
const MAX_KEPT = 256;
const parsed = new Map<string, URL>();
const options = new WeakMap<URL, TargetOptions>();

/** The URL parsed (a TypeError for an invalid one, as `new URL`); the same object for the same text. Never change it. */
export function parseTarget(url: string): URL {
  let target = parsed.get(url);
  if (target === undefined) {
    target = new URL(url);
    if (parsed.size >= MAX_KEPT) parsed.clear();
    parsed.set(url, target);
  }
  return target;
}

/** node:http's request options for `url`'s target: a new object each time (node:http writes into the one it is given). */
export function targetOptions(url: URL): TargetOptions {
  let target = options.get(url);
  if (target === undefined) {
    const { hostname, port, username, password } = url;
    target = { protocol: url.protocol, hostname: hostname.startsWith('[') ? hostname.slice(1, -1) : hostname, path: `${url.pathname}${url.search}` };
    if (port !== '') target.port = Number(port);
    if (username || password) target.auth = `${decodeURIComponent(username)}:${decodeURIComponent(password)}`;
    options.set(url, target);
  }
  return { ...target };
}
