import { looksLikeCredential } from './credential-names.js';

/**
 * Credentials carried by URLs: `user:password@` and query (or fragment)
 * parameters with a credential name (`?api_key=`, `&sig=`, `X-Amz-Security-Token=`,
 * `#access_token=`). Worked on as text, so the rest of a URL (and of the text
 * around it) is shown exactly as written.
 */

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]{0,15}:\/\/[^\s"'<>`]+/gi;
/**
 * `scheme://userinfo@`: the userinfo runs to the LAST `@` before the first
 * `/`, `?` or `#`, as in the WHATWG URL parser (what Node's `fetch`, got and
 * `new URL` use): in `http://admin:p@ss@host/` the password is `p@ss`, and
 * stopping at the first `@` would show `ss`. A `\` does not end it here
 * (it does only for http-like schemes): at worst more is hidden, never less.
 */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;
/** Punctuation that ends a sentence after a URL (`refused: http://h/?key=k: connection reset`), not part of it. */
const TRAILING_PUNCTUATION = /[.,:;!?)\]}]+$/;
const PARAM = /([?&;#])([^=&;#?]+)=([^&;#]*)/g;

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** One URL with userinfo and credential parameter values replaced by `redacted`. */
export function redactUrlText(url: string, redacted = '***'): string {
  const withoutUser = url.replace(USERINFO, (_, scheme: string, userinfo: string) => (userinfo ? `${scheme}${redacted}@` : `${scheme}@`));
  const start = withoutUser.search(/[?#]/);
  if (start < 0) return withoutUser;
  const rest = withoutUser.slice(start).replace(PARAM, (whole, sep: string, name: string, value: string) =>
    value !== '' && looksLikeCredential(decoded(name)) ? `${sep}${name}=${redacted}` : whole,
  );
  return withoutUser.slice(0, start) + rest;
}

/** Every URL in a text redacted with {@link redactUrlText}; punctuation right after a URL is kept as it is. */
export function redactUrlsIn(text: string, redacted = '***'): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (url) => {
    const end = TRAILING_PUNCTUATION.exec(url)?.index ?? url.length;
    return redactUrlText(url.slice(0, end), redacted) + url.slice(end);
  });
}

/**
 * The secret parts of a URL: its user name and password, and its credential
 * parameters' values (decoded and as written); with a userinfo, also the
 * `Authorization: Basic` credential it is sent as (`basicCredential`), which a
 * backend may echo.
 */
export function urlCredentials(url: string): string[] {
  const parts: string[] = [];
  const userinfo = USERINFO.exec(url)?.[2];
  if (userinfo) {
    // The user name ends at the first `:`; the password is all the rest, `:` and `@` included.
    const colon = userinfo.indexOf(':');
    const pieces = colon < 0 ? [userinfo] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
    for (const piece of pieces) if (piece) parts.push(piece, decoded(piece));
    parts.push(...basicCredential(url, pieces[0]!, pieces[1] ?? ''));
  }
  const start = url.search(/[?#]/);
  if (start >= 0) {
    for (const [, , name, value] of url.slice(start).matchAll(PARAM)) {
      if (value && looksLikeCredential(decoded(name!))) parts.push(value, decoded(value));
    }
  }
  return [...new Set(parts)];
}

/**
 * The credential of the `Authorization: Basic` header a request to `url` carries
 * (http/targets.ts: `base64(decoded user ":" decoded password)`, UTF-8, as
 * node:http encodes `auth`), with and without its `=` padding. The user name
 * and password are those the URL parser reads; `user` and `password` (the
 * userinfo as written) are used when it cannot parse the URL.
 */
function basicCredential(url: string, user: string, password: string): string[] {
  let auth: string;
  try {
    const parsed = new URL(url);
    auth = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  } catch {
    auth = `${percentDecoded(user)}:${percentDecoded(password)}`;
  }
  if (auth === ':') return [];
  const encoded = Buffer.from(auth, 'utf8').toString('base64');
  return [encoded, encoded.replace(/=+$/, '')];
}

/** Percent-decoded as `decodeURIComponent` does (a `+` stays a `+`), or as written when that fails. */
function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** True for a text that is one absolute URL. */
export function isUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]{0,15}:\/\/\S+$/i.test(text.trim());
}
