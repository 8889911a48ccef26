/**
 * The first-party plugin packages, by the provider types they provide. Core
 * names no package; the CLI hands this catalog to core (`knownPlugins`) so
 * that an unknown type that is one of these, or a typo of one, names the real
 * package to install, never one made up from what was typed. A test checks it
 * against the plugins of this repository.
 */
export const KNOWN_PLUGINS: Readonly<Record<string, string>> = {
  openai: '@aegis/provider-openai',
  vllm: '@aegis/provider-vllm',
  ollama: '@aegis/provider-ollama',
  koboldcpp: '@aegis/provider-koboldcpp',
  fallback: '@aegis/provider-router',
  balance: '@aegis/provider-router',
  example_com: 'aegis-provider-example-com',
};
