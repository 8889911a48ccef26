export { secret, isMarkedSecret, looksLikeCredential, secretKeysOf, redactValues, REDACTED } from './secret-fields.js';
export { SecretScrubber } from './scrubber.js';
