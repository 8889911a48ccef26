/**
 * Does a field, header or query parameter name look like it holds a credential?
 *
 * Names are split into words whatever their spelling (`apiKey`, `API_KEY`,
 * `x-api-key`, `X-Amz-Security-Token`, `api key` all give `api`, `key`), then:
 * - a word that is a credential word (`key`, `token`, `secret`, `pass`, `sig`, ...) or
 * - the name written as one word containing one (`apikey`, `xapikey`, `accesstoken`) or
 * - a near miss of a long credential word (`api_kei`, `pasword`, `secert`, `acess_token`: one
 *   typo in 5 to 8 letters, two in longer ones)
 * makes it a credential, unless a word says the value is about a credential
 * rather than one (`max_tokens`, `token_limit`, `key_file`, `auth_type`).
 * Wrongly calling a field a credential only hides its value; missing one leaks it.
 */

/** Words that are, on their own, the name of a credential. */
const CREDENTIAL_WORDS = new Set([
  'key',
  'apikey',
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'auth',
  'authorization',
  'authorisation',
  'bearer',
  'credential',
  'credentials',
  'creds',
  'sig',
  'signature',
  'cookie',
  'privatekey',
  'sas',
]);

/** Credential names written as one word, looked for inside a name with its separators removed. */
const JOINED = ['apikey', 'password', 'passwd', 'passphrase', 'secret', 'bearer', 'credential', 'authorization', 'accesskey', 'accesstoken', 'authtoken', 'privatekey', 'sessiontoken', 'securitytoken', 'refreshtoken', 'idtoken'];

/** Long credential words whose misspellings still count (short ones would catch ordinary words: tokens, path, past). */
const FUZZY = ['apikey', 'password', 'passwd', 'passphrase', 'secret', 'bearer', 'credential', 'credentials', 'authorization', 'accesskey', 'accesstoken', 'authtoken', 'signature', 'privatekey'];

/** Words that make the name about a credential, not the credential itself. */
const ABOUT_WORDS = new Set([
  'max',
  'min',
  'num',
  'count',
  'limit',
  'limits',
  'length',
  'len',
  'size',
  'total',
  'budget',
  'usage',
  'timeout',
  'ttl',
  'expiry',
  'expires',
  'expiration',
  'type',
  'kind',
  'mode',
  'format',
  'file',
  'path',
  'env',
  'var',
  'variable',
  'name',
  'url',
  'uri',
  'endpoint',
  'prefix',
  'location',
  'tokens',
  'tokenizer',
]);

/** The words of a name: camelCase, PascalCase and ACRONYMCase split; `-`, `_`, `.`, spaces and the like as separators; lower case. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

export function looksLikeCredential(name: string): boolean {
  if (name.length === 0 || name.length > 200) return false;
  const words = nameWords(name);
  if (words.length === 0) return false;
  if (words.some((word) => ABOUT_WORDS.has(word))) return false;
  if (words.some((word) => CREDENTIAL_WORDS.has(word))) return true;
  const joined = words.join('');
  if (JOINED.some((word) => joined.includes(word))) return true;
  // A typo inside one word, or across two neighbouring ones (`api_kei` is `apikei`).
  const candidates = new Set([joined, ...words, ...words.slice(1).map((word, i) => words[i] + word)]);
  for (const candidate of candidates) {
    if (FUZZY.some((target) => withinTypos(candidate, target))) return true;
  }
  return false;
}

/** At most one typo (insertion, deletion, substitution or swap of neighbours) in 5 to 8 letters, two in longer words. */
function withinTypos(word: string, target: string): boolean {
  if (target.length < 5) return false;
  const allowed = target.length <= 8 ? 1 : 2;
  if (Math.abs(word.length - target.length) > allowed) return false;
  return editDistance(word, target, allowed) <= allowed;
}

/**
 * Optimal string alignment distance (Levenshtein with swaps of neighbours),
 * stopping as soon as it exceeds `limit`. Names are short: the plain table is enough.
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  let previous2: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, previous2[j - 2]! + 1);
      row.push(value);
      best = Math.min(best, value);
    }
    if (best > limit) return best;
    previous2 = previous;
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * Header names whose value is never a credential. Every other header of a
 * `headers:` map is treated as secret: custom auth headers have too many names
 * (`X-Portkey-Virtual-Key`, `Ocp-Apim-Subscription-Key`, `cf-aig-authorization`) to list.
 */
const HARMLESS_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'connection',
  'content-type',
  'content-language',
  'user-agent',
  'http-referer',
  'referer',
  'x-title',
  'api-version',
  'x-request-id',
]);

export function isHarmlessHeader(name: string): boolean {
  return HARMLESS_HEADERS.has(name.toLowerCase());
}

/** True for the name of a map of HTTP headers (`headers`, `extra_headers`, `defaultHeaders`). */
export function isHeadersMap(name: string): boolean {
  const words = nameWords(name);
  return words[words.length - 1] === 'headers';
}
