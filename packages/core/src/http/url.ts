import { looksLikeCredential } from '../secrets/secret-fields.js';

/**
 * Joins a base URL and a path with exactly one slash between them. The path
 * goes into the base's path, before any query the base has (`?api-version=...`
 * is kept, after the endpoint path; a query of `path` is appended to it), and
 * any fragment of the base is dropped (it is never sent).
 */
export function joinUrl(base: string, path: string): string {
  const cut = base.search(/[?#]/);
  if (cut < 0) return base.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '');
  const query = base[cut] === '?' ? base.slice(cut + 1).split('#')[0]! : '';
  const [endpoint, pathQuery = ''] = splitOnce(path.replace(/^\/+/, ''), '?');
  const joined = [query, pathQuery].filter(Boolean).join('&');
  return base.slice(0, cut).replace(/\/+$/, '') + '/' + endpoint + (joined ? '?' + joined : '');
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

/** A URL safe to show: no user:password, credential-looking query values replaced. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.username || parsed.password) {
    parsed.username = '';
    parsed.password = '';
  }
  for (const key of [...parsed.searchParams.keys()]) {
    if (looksLikeCredential(key)) parsed.searchParams.set(key, '***');
  }
  return parsed.toString();
}
