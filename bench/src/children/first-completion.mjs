/**
 * A fresh process's first completion: import @aegis/core, let it discover the
 * plugins of the repository and read the root backends.yaml (whose `ollama`
 * profile the parent points at its emulator with OLLAMA_BASE_URL), one call.
 * Prints when each step ended, in ms since the process started.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const started = performance.now();
const { createAegis } = await import('@aegis/core');
const imported = performance.now();
const aegis = createAegis({ cwd: repo });
const provider = await aegis.getProviderForProfile('ollama');
const ready = performance.now();
const { text } = await provider.getCompletion([{ role: 'user', content: 'Hello' }]);
const completedAt = performance.now();
aegis.close();
if (!text) throw new Error('empty completion');
process.stdout.write(
  JSON.stringify({ startedAt: started, importCore: imported - started, provider: ready - imported, call: completedAt - ready, completedAt }) + '\n',
);
