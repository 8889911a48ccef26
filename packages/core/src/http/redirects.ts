import { ProviderError } from '../errors/provider-error.js';
import { redactUrl } from './url.js';

/**
 * Which redirects a request follows (profile field `follow_redirects`):
 * - `same_origin` (default): only to the same scheme, host and port.
 * - `never`: none.
 * - `cross_origin`: also to another origin, but only as a plain GET without
 *   the body and without any header the profile or plugin set (keys, custom
 *   headers, content type); a 307/308 there is refused, since it would have to
 *   re-send the body.
 * Whatever the policy, a redirect from https to http, or to a scheme other
 * than http(s), is refused. See docs/security.md, "Redirect policy".
 */
export const REDIRECT_POLICIES = ['same_origin', 'never', 'cross_origin'] as const;

export type RedirectPolicy = (typeof REDIRECT_POLICIES)[number];

/** Redirects followed at most in one request. */
export const MAX_REDIRECTS = 5;

export type RedirectVerdict = { follow: true; crossOrigin: boolean } | { follow: false; why: string; target?: URL };

function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port;
}

/** The URL a `Location` header leads to, read as got reads it (raw bytes as UTF-8, relative to the current URL). */
export function redirectTarget(location: string, current: URL | string): URL | undefined {
  try {
    return new URL(Buffer.from(location, 'binary').toString(), current);
  } catch {
    return undefined;
  }
}

/**
 * Decides one redirect: from `current` (where the request went, `original`
 * being the URL first asked for) to `location`, answered with `status`.
 */
export function judgeRedirect(original: URL, current: URL, location: string, status: number, policy: RedirectPolicy): RedirectVerdict {
  const target = redirectTarget(location, current);
  if (!target) return { follow: false, why: 'its Location is not a valid URL' };
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return { follow: false, why: `it leads to a ${target.protocol} URL`, target };
  if ((current.protocol === 'https:' || original.protocol === 'https:') && target.protocol === 'http:') {
    return { follow: false, why: 'it downgrades https to http', target };
  }
  if (policy === 'never') return { follow: false, why: 'redirects are not followed (follow_redirects: never)', target };
  if (sameOrigin(original, target)) return { follow: true, crossOrigin: false };
  if (policy !== 'cross_origin') {
    return { follow: false, why: 'it leads to another origin (set follow_redirects: cross_origin to allow it)', target };
  }
  if (status === 307 || status === 308) {
    return { follow: false, why: `a ${status} to another origin would re-send the request body`, target };
  }
  return { follow: true, crossOrigin: true };
}

/** The typed error for a redirect not followed, naming where it led (credentials redacted). */
export function redirectError(method: string, url: string, status: number, location: string, why: string, target?: URL): ProviderError {
  const safeUrl = redactUrl(url);
  const to = target ? redactUrl(target.href) : JSON.stringify(location.slice(0, 200)).replace(/[^\x20-\x7e]/g, '?');
  return new ProviderError(`${method} ${safeUrl} was redirected (HTTP ${status}) to ${to}: not followed, ${why}`, {
    url: safeUrl,
    status,
    reason: 'redirect',
    retryable: false,
  });
}

/** The typed error for a request redirected more than MAX_REDIRECTS times. */
export function tooManyRedirectsError(method: string, url: string): ProviderError {
  const safeUrl = redactUrl(url);
  return new ProviderError(`${method} ${safeUrl}: redirected more than ${MAX_REDIRECTS} times; not followed further`, {
    url: safeUrl,
    reason: 'redirect',
    retryable: false,
  });
}

/** Headers a cross-origin hop keeps: none the caller set, only the client's own transport ones. */
const KEPT_HEADERS = new Set(['user-agent', 'accept-encoding']);

/** Makes a cross-origin hop a bare GET: no body, no header the profile or plugin set. */
export function stripForCrossOrigin(hop: { method: string; body?: unknown; headers: Record<string, unknown> }): void {
  hop.method = 'GET';
  hop.body = undefined;
  for (const name of Object.keys(hop.headers)) if (!KEPT_HEADERS.has(name.toLowerCase())) delete hop.headers[name];
}
