import { z } from 'zod';
import { DEFAULT_LIMITS } from '../http/limits.js';
import { REDIRECT_POLICIES } from '../http/redirects.js';
import { MAX_TIMER_MS } from '../http/timers.js';

const MiB = 1024 * 1024;

/**
 * The longest `timeout` and `idle_timeout`, in seconds: the longest a Node
 * timer runs (about 24.8 days). A call's deadline can wait longer in steps,
 * but a profile's this long is a unit mistake (milliseconds written as
 * seconds), refused at its line rather than met in a month.
 */
const MAX_TIMEOUT_S = Math.floor(MAX_TIMER_MS / 1000);

/** A size in bytes between `min` and `max`. */
function byteSize(min: number, max: number) {
  return z.number().int().min(min).max(max);
}

const API1_FIELDS = {
  profile_name: z.string().min(1).describe('Name the profile is selected by'),
  type: z.string().min(1).describe('Provider type; selects the plugin'),
  description: z.string().optional().describe('Free text shown by `aegis profiles`'),
  timeout: z.number().positive().max(MAX_TIMEOUT_S).default(600).describe('Deadline of a whole call in seconds, retries included'),
  idle_timeout: z
    .number()
    .positive()
    .max(MAX_TIMEOUT_S)
    .default(180)
    .describe('Fail when the backend sends no byte for this many seconds (model loading can take minutes)'),
  max_retries: z.number().int().min(0).max(20).default(2).describe('Retries on retryable failures'),
  temperature: z.number().min(0).optional().describe('Default sampling temperature'),
  max_tokens: z.number().int().positive().optional().describe('Default cap on generated tokens'),
  top_p: z.number().min(0).max(1).optional().describe('Default nucleus sampling'),
  stop: z.array(z.string()).optional().describe('Default stop sequences'),
  seed: z.number().int().optional().describe('Default sampling seed'),
};

/**
 * How much of a backend's answer is read, and which redirects are followed
 * (docs/security.md). Unset, the HTTP client's defaults apply: a plugin whose
 * schema predates these fields gets the same protection.
 */
const RESPONSE_FIELDS = {
  max_response_bytes: byteSize(1024, 512 * MiB)
    .optional()
    .describe(`Largest whole response body read (JSON, embeddings, audio), in decoded bytes (default ${DEFAULT_LIMITS.maxResponseBytes / MiB} MiB)`),
  max_stream_bytes: byteSize(1024, 64 * 1024 * MiB)
    .optional()
    .describe(`Largest streamed answer read in total, in decoded bytes (default ${DEFAULT_LIMITS.maxStreamBytes / MiB} MiB)`),
  max_line_bytes: byteSize(1024, 256 * MiB)
    .optional()
    .describe(`Largest single line (NDJSON) or event (SSE) of a stream, in decoded bytes (default ${DEFAULT_LIMITS.maxLineBytes / MiB} MiB)`),
  follow_redirects: z
    .enum(REDIRECT_POLICIES)
    .optional()
    .describe(
      'Redirects followed: same_origin (default), never, or cross_origin (as a bare GET without body or any configured header); https to http never',
    ),
};

/** How calls are split: fields added after the first plugin API, optional, read with defaults. */
const CALL_FIELDS = {
  max_embeddings_per_call: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("Most texts in one embeddings request; more are sent as several requests, in order (default: the plugin's limit)"),
};

export const BaseBackendConfig = z.object({ ...API1_FIELDS, ...RESPONSE_FIELDS, ...CALL_FIELDS });

export type BaseBackendConfig = z.infer<typeof BaseBackendConfig>;

/**
 * The keys a plugin's schema must have to count as extending BaseBackendConfig:
 * those of the first plugin API. Fields added since are optional and read with
 * defaults, so a plugin built against an older core still passes.
 */
export const BASE_CONFIG_KEYS = Object.keys(API1_FIELDS) as (keyof BaseBackendConfig)[];
