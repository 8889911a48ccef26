/** `aegis complete --image`: the files reach the backend as image parts in its own form, from a real plugin against its emulator. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startOllamaEmulator, type Emulator } from '@aegis/testkit';
import ollama from '@aegis/provider-ollama';
import exampleCom from 'aegis-provider-example-com';
import { run, tempProject } from './__tests__/harness.js';

/** A 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const plugins = [ollama, exampleCom];
let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startOllamaEmulator();
  dir = tempProject(`- profile_name: llava
  type: ollama
  base_url: ${emulator.url}
  model: llava
- profile_name: text
  type: example_com
  llm_url: http://127.0.0.1:9/v1/completion
  api_key: key-for-the-image-test
`);
  fs.writeFileSync(path.join(dir, 'photo.png'), PNG);
});

afterAll(async () => {
  await emulator.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('aegis complete --image', () => {
  it('sends the image with the prompt: the file as the bare base64 Ollama takes', async () => {
    const result = await run(['complete', '-p', 'llava', '--image', 'photo.png', 'what is this?'], { cwd: dir, plugins });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(emulator.lastRequest!.json.messages).toEqual([{ role: 'user', content: 'what is this?', images: [PNG.toString('base64')] }]);
  });

  it('takes several images, in order', async () => {
    await run(['complete', '-p', 'llava', '--image', 'photo.png', '--image', 'photo.png', 'compare'], { cwd: dir, plugins });
    expect(emulator.lastRequest!.json.messages[0].images).toHaveLength(2);
  });

  it('refuses a profile without vision before any request (exit 3), and a missing file (a usage error, exit 1)', async () => {
    const refused = await run(['complete', '-p', 'text', '--image', 'photo.png', 'what is this?'], { cwd: dir, plugins });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('does not support image input');
    const missing = await run(['complete', '-p', 'llava', '--image', 'nope.png', 'what is this?'], { cwd: dir, plugins });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the image file nope.png: ENOENT');
  });
});
