/**
 * Plugins broken in their tool calling or reasoning, one mistake each, for the
 * kit's own tests. They wrap the openai and vllm plugins, run against their
 * emulators.
 */
import {
  CapabilityNotSupportedError,
  definePlugin,
  InvalidToolArgumentsError,
  PLUGIN_API_VERSION,
  type AegisPlugin,
  type CallSettings,
  type ChatMessage,
  type ProviderCompletion,
  type ProviderContext,
  type ProviderStream,
  type RuntimeExecutionConfig,
  type StreamItem,
} from '@aegis/core';
import { OpenAIConfig, OpenAIProvider } from '@aegis/provider-openai';
import { VllmConfig, VllmProvider } from '@aegis/provider-vllm';
import { ExampleComProvider } from 'aegis-provider-example-com';
import { startOpenAIEmulator, startVllmEmulator } from '../../index.js';
import type { ConformanceOptions } from '../types.js';
import { exampleVariant } from './broken-plugins.js';

const KEY = 'sk-kit-tools-4c7e9a2b';

export const openaiOptions = (): ConformanceOptions => ({
  server: () => startOpenAIEmulator({ apiKey: KEY }),
  profile: (server) => ({ base_url: server.baseUrl, api_key: KEY, model: 'gpt-4o-mini' }),
});
export const vllmOptions = (): ConformanceOptions => ({
  server: () => startVllmEmulator(),
  profile: (server) => ({ base_url: server.baseUrl, model: 'Qwen/Qwen3-8B' }),
});

type OpenAIClass = new (config: OpenAIConfig, context: ProviderContext) => OpenAIProvider;

function openaiVariant(Provider: OpenAIClass): AegisPlugin {
  return definePlugin({
    apiVersion: PLUGIN_API_VERSION,
    type: 'openai',
    configSchema: OpenAIConfig,
    capabilities: ['completion', 'streaming', 'tools'],
    create: (config, context) => new Provider(config, context),
  });
}

/** The plugin's stream without the items `drop` picks. */
async function* without(inner: ProviderStream, drop: (item: StreamItem) => boolean): ProviderStream {
  for (;;) {
    const step = await inner.next();
    if (step.done) return step.value;
    const items = Array.isArray(step.value) ? (step.value as StreamItem[]) : [step.value as StreamItem];
    yield items.filter((item) => !drop(item));
  }
}
const isToolPart = (item: StreamItem) => typeof item !== 'string' && item.type !== 'reasoning';

/** Never sends the tools (nor the choice). */
class ToolsNotSent extends OpenAIProvider {
  protected override chatBody(messages: ChatMessage[], settings: CallSettings, stream: boolean): Record<string, unknown> {
    const { tools: _t, tool_choice: _c, parallel_tool_calls: _p, ...body } = super.chatBody(messages, settings, stream);
    return body;
  }
}
export const toolsNotSent = openaiVariant(ToolsNotSent);

/** A backend with no "must call a tool" mode: `toolChoice: 'required'` refused, before any request (not a mistake, if declared). */
class NoRequiredChoice extends OpenAIProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    if (settings.toolChoice === 'required') throw new CapabilityNotSupportedError(this.type, this.profileName, 'toolChoice "required"');
    return super.doCompletion(messages, settings);
  }

  protected override doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    if (settings.toolChoice === 'required') throw new CapabilityNotSupportedError(this.type, this.profileName, 'toolChoice "required"');
    return super.doStream(messages, settings);
  }
}
export const noRequiredChoice = openaiVariant(NoRequiredChoice);
/** The openai plugin as it is (every choice mapped): to hold a listing in unsupportedToolChoices to its claim. */
export const everyChoice = openaiVariant(OpenAIProvider);

/** Loses the calls of a non-streamed answer. */
class CallsDropped extends OpenAIProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    const { toolCalls: _dropped, ...result } = await super.doCompletion(messages, settings);
    return result;
  }
}
export const callsDropped = openaiVariant(CallsDropped);

/** Loses the calls of a streamed answer. */
class StreamedCallsDropped extends OpenAIProvider {
  protected override doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    return without(super.doStream(messages, settings), isToolPart);
  }
}
export const streamedCallsDropped = openaiVariant(StreamedCallsDropped);

/** Sends tool results as user text, the way of the first plugin API. */
class ResultsAsUserText extends OpenAIProvider {
  protected override chatBody(messages: ChatMessage[], settings: CallSettings, stream: boolean): Record<string, unknown> {
    const flat = messages.map((m): ChatMessage => (m.role === 'tool' ? { role: 'user', content: `Tool result from ${m.name}:\n${m.content}` } : m));
    return super.chatBody(flat, settings, stream);
  }
}
export const resultsAsUserText = openaiVariant(ResultsAsUserText);

/** Sends every tool choice as "auto". */
class ChoiceIgnored extends OpenAIProvider {
  protected override chatBody(messages: ChatMessage[], settings: CallSettings, stream: boolean): Record<string, unknown> {
    return super.chatBody(messages, { ...settings, toolChoice: settings.toolChoice && 'auto' }, stream);
  }
}
export const choiceIgnored = openaiVariant(ChoiceIgnored);

/** Parses the arguments itself and hides a failure as empty arguments. */
class LenientArguments extends OpenAIProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    const result = await super.doCompletion(messages, settings);
    const lenient = (text: unknown) => {
      try {
        return JSON.parse(String(text)) as Record<string, unknown>;
      } catch {
        return {};
      }
    };
    return { ...result, toolCalls: result.toolCalls?.map((c) => ({ ...c, arguments: typeof c.arguments === 'string' ? lenient(c.arguments) : c.arguments })) };
  }
}
export const lenientArguments = openaiVariant(LenientArguments);

/** Ends a stream that breaks inside a tool call as if it had finished. */
class CutStreamHidden extends OpenAIProvider {
  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const inner = super.doStream(messages, settings);
    for (;;) {
      let step: IteratorResult<StreamItem | readonly StreamItem[], unknown>;
      try {
        step = await inner.next();
      } catch {
        return { finishReason: 'stop' };
      }
      if (step.done) return step.value as { finishReason: 'stop' };
      yield step.value;
    }
  }
}
export const cutStreamHidden = openaiVariant(CutStreamHidden);

/** Declares no tools, and drops a call's tools to answer anyway instead of refusing. */
class ToolsSwallowed extends ExampleComProvider {
  override getCompletion(messages: ChatMessage[], runtime: RuntimeExecutionConfig = {}) {
    return super.getCompletion(messages, { ...runtime, tools: undefined });
  }
  override streamCompletion(messages: ChatMessage[], runtime: RuntimeExecutionConfig = {}) {
    return super.streamCompletion(messages, { ...runtime, tools: undefined });
  }
}
export const toolsSwallowed = exampleVariant(ToolsSwallowed);

/** Declares reasoning but drops it from answers. */
class ReasoningDropped extends VllmProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    const { reasoning: _r, ...result } = await super.doCompletion(messages, settings);
    return result;
  }
  protected override doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    return without(super.doStream(messages, settings), (item) => typeof item !== 'string' && item.type === 'reasoning');
  }
}
export const reasoningDropped = definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'vllm',
  configSchema: VllmConfig,
  capabilities: ['completion', 'streaming', 'tools', 'reasoning'],
  create: (config, context) => new ReasoningDropped(config, context),
});

/** Keeps the last call's tools and sends them with every later call, one without tools included. */
class ToolsRemembered extends OpenAIProvider {
  private remembered: CallSettings['tools'];

  protected override chatBody(messages: ChatMessage[], settings: CallSettings, stream: boolean): Record<string, unknown> {
    if (settings.tools) this.remembered = settings.tools;
    return super.chatBody(messages, { ...settings, tools: settings.tools ?? this.remembered }, stream);
  }
}
export const toolsRemembered = openaiVariant(ToolsRemembered);

/** Encodes each tool result as JSON text a second time. */
class ResultsDoubleEncoded extends OpenAIProvider {
  protected override chatBody(messages: ChatMessage[], settings: CallSettings, stream: boolean): Record<string, unknown> {
    const encoded = messages.map((m): ChatMessage => (m.role === 'tool' ? { ...m, content: JSON.stringify(m.content) } : m));
    return super.chatBody(encoded, settings, stream);
  }
}
export const resultsDoubleEncoded = openaiVariant(ResultsDoubleEncoded);

/** Never sends a tool choice, so "none", "required" and a named tool all become the backend's default. */
class ChoiceOmitted extends OpenAIProvider {
  protected override chatBody(messages: ChatMessage[], settings: CallSettings, stream: boolean): Record<string, unknown> {
    const { tool_choice: _c, ...body } = super.chatBody(messages, settings, stream);
    return body;
  }
}
export const choiceOmitted = openaiVariant(ChoiceOmitted);

/** Sends "required" to the backend first, and refuses it only after the backend answered. */
class RequiredTriedFirst extends OpenAIProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    const result = await super.doCompletion(messages, settings);
    if (settings.toolChoice === 'required') throw new CapabilityNotSupportedError(this.type, this.profileName, 'toolChoice "required"');
    return result;
  }
}
export const requiredTriedFirst = openaiVariant(RequiredTriedFirst);

/** Parses the arguments itself and names the call's id as the tool of the error. */
class SwappedToolName extends OpenAIProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    const result = await super.doCompletion(messages, settings);
    for (const call of result.toolCalls ?? []) {
      if (typeof call.arguments !== 'string') continue;
      try {
        JSON.parse(call.arguments);
      } catch {
        throw new InvalidToolArgumentsError(`the arguments of ${call.name} are not JSON`, { toolName: call.id ?? '?', toolCallId: call.name, rawArguments: call.arguments });
      }
    }
    return result;
  }
}
export const swappedToolName = openaiVariant(SwappedToolName);

/** Declares no tools, but sends a call with tools to the backend before refusing it. */
class ToolsTriedFirst extends ExampleComProvider {
  override async getCompletion(messages: ChatMessage[], runtime: RuntimeExecutionConfig = {}) {
    if (!runtime.tools) return super.getCompletion(messages, runtime);
    await super.getCompletion(messages, { ...runtime, tools: undefined });
    return super.getCompletion(messages, runtime);
  }
}
export const toolsTriedFirst = exampleVariant(ToolsTriedFirst);

/** Leaves the reasoning in the answer's text as well (non-streamed). */
class ReasoningInText extends VllmProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    const result = await super.doCompletion(messages, settings);
    return result.reasoning ? { ...result, text: `${result.reasoning}\n${result.text}` } : result;
  }
}
export const reasoningInText = definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'vllm',
  configSchema: VllmConfig,
  capabilities: ['completion', 'streaming', 'tools', 'reasoning'],
  create: (config, context) => new ReasoningInText(config, context),
});
