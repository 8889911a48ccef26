/**
 * Secrets the configuration hands a backend, echoed back by it: a backend may
 * answer a refused call with the credential it received, in whatever form it
 * got it (the bare token of `Authorization: Bearer <token>`, the `Basic`
 * header of a URL's `user:password@`, a `?code=` it read). Checked on a real
 * loopback server that echoes what each request carried, through a provider
 * that sends the profile's `base_url` and `headers` as they are.
 */
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { createAegis, type Aegis } from '../aegis.js';
import { BaseBackendConfig } from '../contract/base-config.js';
import { BackendProvider } from '../contract/provider.js';
import { definePlugin } from '../plugins/define-plugin.js';
import { listenOnLoopback, providerFailure, type Loopback } from '../__tests__/loopback.js';

const EchoConfig = BaseBackendConfig.extend({
  type: z.literal('echo-auth'),
  base_url: z.string(),
  model: z.string(),
  headers: z.record(z.string(), z.string()).optional(),
});

/** Posts to `base_url` itself (query included), with the profile's headers. */
class EchoProvider extends BackendProvider<z.output<typeof EchoConfig>> {
  protected override async doCompletion(): Promise<{ text: string; finishReason: 'stop' }> {
    await this.context.http.postJson(this.config.base_url, { model: this.config.model }, { headers: this.config.headers });
    return { text: '', finishReason: 'stop' };
  }
}

const echoPlugin = definePlugin({
  apiVersion: 1,
  type: 'echo-auth',
  configSchema: EchoConfig,
  capabilities: ['completion'],
  create: (config, context) => new EchoProvider(config, context),
});

const TOKEN = 'tok_9f8e7d6c5b4a39281706ZZ';
const FUNC_KEY = 'Zk3vQ9xLmP2aB7cD1eF5gH8jK0nR4tUw==';
const USER = 'admin';
const PASSWORD = 'Hunter2-S3cretPass';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

let loopback: Loopback;
const dir = mkdtempSync(join(tmpdir(), 'aegis-echoed-secrets-'));
let aegis: Aegis | undefined;

beforeAll(async () => {
  // Refuses every call, saying what it was sent: the Authorization header, its bare credential, the query's code.
  const server = http.createServer((req, res) => {
    req.resume();
    const auth = req.headers.authorization ?? '';
    const code = new URL(req.url ?? '/', 'http://x').searchParams.get('code') ?? '';
    const bare = auth.replace(/^\S+\s+/, '');
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `invalid credentials: header "${auth}", key "${bare}", code "${code}"` } }));
  });
  loopback = await listenOnLoopback(server);
});
afterEach(() => {
  aegis?.close();
  aegis = undefined;
});
afterAll(async () => {
  await loopback.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An instance whose backends.yaml is `profile` (one profile, indented), the process environment `env`, no .env. */
function instance(profile: string, env: Record<string, string>): Aegis {
  const file = join(dir, 'backends.yaml');
  writeFileSync(file, `profiles:\n  - profile_name: p\n    type: echo-auth\n    max_retries: 0\n${profile}`);
  aegis = createAegis({ configPath: file, plugins: [echoPlugin], discover: false, env });
  return aegis;
}

async function failureOf(aegis: Aegis): Promise<string> {
  const provider = await aegis.getProviderForProfile('p');
  const error = await providerFailure(provider.getCompletion([{ role: 'user', content: 'hi' }]));
  return `${error.message}\n${error.bodyExcerpt ?? ''}\n${error.url ?? ''}`;
}

describe('a secret from the process environment, echoed by the backend', () => {
  it('is scrubbed bare when it sat in "Authorization: Bearer ${VAR}"', async () => {
    const a = instance(`    base_url: ${loopback.base}/v1/chat\n    model: m\n    headers:\n      Authorization: Bearer \${GW_TOKEN}\n`, { GW_TOKEN: TOKEN });
    const text = await failureOf(a);
    expect(text).toContain('invalid credentials');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(TOKEN.slice(0, 12));
    expect(a.redact(`key ${TOKEN}`)).toBe('key ***');
  });

  it('is scrubbed when it is the value of a query parameter with an ordinary name (?code=${VAR})', async () => {
    const a = instance(`    base_url: ${loopback.base}/api/v1?code=\${AZ_FUNC_KEY}\n    model: m\n`, { AZ_FUNC_KEY: FUNC_KEY });
    const text = await failureOf(a);
    expect(text).toContain('invalid credentials');
    expect(text).not.toContain(FUNC_KEY);
    expect(text).not.toContain(encodeURIComponent(FUNC_KEY));
  });

  it('is scrubbed whatever the variable is called, and a model name, a host and a port substituted beside it stay visible', async () => {
    const a = instance(
      `    base_url: http://\${LLM_HOST}:\${LLM_PORT}/v1/chat?code=\${AZ_CODE}\n    model: \${LLM}\n    description: \${OLLAMA_MODEL} on the GPU box\n`,
      { LLM_HOST: '127.0.0.1', LLM_PORT: loopback.base.split(':').pop()!, AZ_CODE: FUNC_KEY, LLM: 'llama3.2-instruct', OLLAMA_MODEL: 'qwen2.5-coder' },
    );
    const text = await failureOf(a);
    expect(text).not.toContain(FUNC_KEY);
    expect(text).toContain(`${loopback.base}/v1/chat`);
    expect(a.redact('llama3.2-instruct on 127.0.0.1, qwen2.5-coder')).toBe('llama3.2-instruct on 127.0.0.1, qwen2.5-coder');
  });
});

describe("a URL's user:password@, sent as Authorization: Basic and echoed", () => {
  it('is scrubbed in its base64 form too', async () => {
    const url = `${loopback.base.replace('://', `://${USER}:${PASSWORD}@`)}/v1/chat`;
    const a = instance(`    base_url: \${LLM_URL}\n    model: m\n`, { LLM_URL: url });
    const text = await failureOf(a);
    expect(text).toContain('invalid credentials');
    expect(text).not.toContain(BASIC);
    expect(text).not.toContain(PASSWORD);
  });
});
