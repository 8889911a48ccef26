export { secret, isMarkedSecret, looksLikeCredential, looksLikeCredentialValue, secretKeysOf, redactValues, REDACTED } from './secret-fields.js';
export { isHarmlessHeader, isHeadersMap, nameWords } from './credential-names.js';
export { SecretScrubber } from './scrubber.js';
export { StreamScrubber } from './stream-scrubber.js';
export { redactUrlText, redactUrlsIn, urlCredentials } from './url-credentials.js';
