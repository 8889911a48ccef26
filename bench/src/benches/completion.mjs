/** 1 and 2: a non-streaming completion through a profile vs the same call made directly. */
import { aegisComplete, aiSdkModel, makeAegis, openaiClient, openaiComplete, rawGot, writeBackendsYaml } from '../lib/clients.mjs';
import { interleave } from '../lib/stats.mjs';

export async function completionBench({ backends, settings }) {
  await backends.setReply('openai', {});
  const aegis = makeAegis(writeBackendsYaml('completion', backends));
  const provider = await aegis.getProviderForProfile('openai');
  await aegisComplete(provider);
  // The very body AEGIS sent, for every other client.
  const body = await backends.lastRequest('openai');
  const url = `${backends.openai.baseUrl}/chat/completions`;
  const raw = rawGot();
  const openai = await openaiClient(backends.openai.baseUrl);
  const aiSdk = await aiSdkModel(backends.openai.baseUrl);
  try {
    const vsGot = await interleave({
      subject: 'aegis',
      contenders: { aegis: () => aegisComplete(provider), got: () => raw.complete(url, body) },
      ...settings.completion,
    });
    const vsClients = await interleave({
      subject: 'aegis',
      contenders: { aegis: () => aegisComplete(provider), openai: () => openaiComplete(openai, body), aiSdk },
      ...settings.clients,
    });
    return { body, vsGot, vsClients };
  } finally {
    raw.destroy();
    aegis.close();
  }
}
