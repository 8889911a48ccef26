/**
 * The loopback backends, in their own process (as a real backend would be):
 * the @aegis/testkit OpenAI and Ollama emulators. The parent drives them over
 * IPC: set the scripted reply, read the last request body, close.
 */
import { startOllamaEmulator, startOpenAIEmulator } from '@aegis/testkit';

const emulators = {
  openai: await startOpenAIEmulator({ apiKey: process.env.BENCH_API_KEY }),
  ollama: await startOllamaEmulator(),
};

// The emulators record every request; a benchmark sends hundreds of thousands.
for (const emu of Object.values(emulators)) {
  const requests = emu.requests;
  const push = requests.push.bind(requests);
  requests.push = (...items) => {
    if (requests.length >= 16) requests.splice(0, requests.length - 1);
    return push(...items);
  };
}

// The parent is gone (finished, or killed): so is the reason to serve.
process.on('disconnect', () => process.exit(0));

process.on('message', async (msg) => {
  const emu = emulators[msg.kind];
  let value;
  try {
    if (msg.op === 'setReply') emu.setReply(msg.reply);
    else if (msg.op === 'lastRequest') value = emu.lastRequest?.json;
    else if (msg.op === 'connections') value = emu.connectionCount;
    else if (msg.op === 'close') {
      await Promise.all(Object.values(emulators).map((e) => e.close()));
      process.send({ id: msg.id, ok: true }, () => process.exit(0));
      return;
    }
    process.send({ id: msg.id, ok: true, value });
  } catch (error) {
    process.send({ id: msg.id, ok: false, error: String(error?.stack ?? error) });
  }
});

process.send({ ready: true, urls: Object.fromEntries(Object.entries(emulators).map(([k, e]) => [k, { url: e.url, baseUrl: e.baseUrl }])) });
