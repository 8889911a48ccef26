/** vLLM's tests use the OpenAI plugin's test helpers: the same wire, the same assertions. */
export * from '../../../openai/src/__tests__/harness.js';
