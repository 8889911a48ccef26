/**
 * The `http:` section of backends.yaml: the connection pool every profile of
 * the file shares (HttpClientOptions), for those who run AEGIS without
 * writing code (`aegis serve`). Options given in code (`createAegis({ http })`)
 * come first.
 *
 * ```yaml
 * http:
 *   max_sockets: unlimited     # connections per backend host at once (default 64)
 *   idle_socket_timeout: 4     # seconds a kept-alive connection may sit idle (default 4)
 * ```
 */
import { z } from 'zod';
import type { ConfigIssue } from '../errors/configuration-error.js';
import type { HttpClientOptions } from '../http/client.js';
import { validateSection, type RawSection } from './sections.js';

export const HTTP_SECTION = 'http';

export const httpSectionSchema = z
  .object({
    max_sockets: z
      .union([z.number().int().min(1).max(1_000_000), z.literal('unlimited')])
      .optional()
      .describe('connections open at once to one backend host (a call beyond waits for one to free); "unlimited" for no bound'),
    idle_socket_timeout: z.number().min(0).max(3600).optional().describe('seconds a kept-alive connection may sit idle before it is closed (0: until the server closes it)'),
  })
  .strict();

/** The section's pool settings, or the problems of its values (file:line, field `http.<name>`). */
export function readHttpSection(section: RawSection): { options?: HttpClientOptions; issues: ConfigIssue[] } {
  const validated = validateSection(section, httpSectionSchema);
  if (!validated.ok) return { issues: validated.issues };
  const { max_sockets, idle_socket_timeout } = validated.config;
  const options: HttpClientOptions = {};
  if (max_sockets !== undefined) options.maxSockets = max_sockets === 'unlimited' ? Number.POSITIVE_INFINITY : max_sockets;
  if (idle_socket_timeout !== undefined) options.freeSocketTimeoutMs = Math.round(idle_socket_timeout * 1000);
  return { options, issues: [] };
}
