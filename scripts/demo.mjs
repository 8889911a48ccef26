#!/usr/bin/env node
/**
 * The main job, offline: start the bundled Ollama emulator on a free loopback
 * port, point the root backends.yaml's `ollama` profile at it through
 * OLLAMA_BASE_URL, and stream a completion with the real `aegis` CLI (real
 * discovery, config loading and `ollama` plugin). The reply is scripted by
 * the emulator. With a real Ollama running, `npx aegis complete -p ollama "..."`
 * does the same against it.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOllamaEmulator } from '@aegis/testkit';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prompt = process.argv.slice(2).join(' ') || 'Why is the sky blue? Answer in one sentence.';

const emulator = await startOllamaEmulator({
  chunkDelayMs: 25,
  reply: {
    text:
      'The sky looks blue because air molecules scatter short blue wavelengths of sunlight far more than red ones ' +
      '(Rayleigh scattering). [scripted reply from the AEGIS Ollama emulator]',
  },
});
process.stderr.write(`Ollama emulator listening on ${emulator.url} (scripted replies; no model is running)\n`);
process.stderr.write(`$ aegis complete -p ollama --stream ${JSON.stringify(prompt)}\n\n`);

const child = spawn(process.execPath, [join(root, 'packages/cli/dist/bundle/bin.js'), 'complete', '-p', 'ollama', '--stream', prompt], {
  cwd: root,
  env: { ...process.env, OLLAMA_BASE_URL: emulator.url },
  stdio: 'inherit',
});
const code = await new Promise((resolve) => child.on('close', resolve));
const request = emulator.lastRequest;
if (request) process.stderr.write(`\n(the emulator received ${request.method} ${request.path} for model "${request.json?.model}")\n`);
await emulator.close();
process.exit(code ?? 1);
