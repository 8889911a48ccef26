/** Checks and normalises a call's tools and tool choice before any request. */
import { toJsonSchema } from './json-schema.js';
import type { ToolChoice, ToolDefinition, ToolSpec } from './tools.js';

/** What a tool name may be: what every common chat API accepts. */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * The call's tools as providers receive them: parameters always JSON Schema
 * (a zod schema converted), names checked (`TOOL_NAME_PATTERN`, unique).
 * `undefined` or an empty list is "no tools" (`undefined`: some backends
 * refuse `"tools": []`). Throws a TypeError naming the tool otherwise.
 */
export function normalizeTools(tools: readonly ToolDefinition[] | undefined): ToolSpec[] | undefined {
  if (tools === undefined) return undefined;
  if (!Array.isArray(tools)) throw new TypeError('runtime "tools" must be an array of { name, description?, parameters }');
  if (tools.length === 0) return undefined;
  const seen = new Set<string>();
  return tools.map((tool, i) => {
    if (typeof tool !== 'object' || tool === null) throw new TypeError(`tools[${i}] must be an object { name, description?, parameters }`);
    const { name, description, parameters, strict } = tool;
    if (typeof name !== 'string' || !TOOL_NAME_PATTERN.test(name)) {
      throw new TypeError(`tools[${i}]: the name ${JSON.stringify(name)} must be 1 to 64 letters, digits, "_" or "-"`);
    }
    if (seen.has(name)) throw new TypeError(`tools[${i}]: the name "${name}" is used by two tools`);
    seen.add(name);
    if (description !== undefined && typeof description !== 'string') throw new TypeError(`tool "${name}": description must be a string`);
    const spec: ToolSpec = { name, parameters: toJsonSchema(parameters, `tool "${name}": parameters`) };
    if (description !== undefined) spec.description = description;
    if (strict !== undefined) spec.strict = strict;
    return spec;
  });
}

/**
 * Checks a tool choice against the call's tools: `auto`, `none`, `required`
 * (which needs tools), or `{ type: 'tool', name }` naming one of them.
 * Throws a TypeError otherwise; returns the choice unchanged.
 */
export function checkToolChoice(choice: ToolChoice | undefined, tools: readonly ToolSpec[] | undefined): ToolChoice | undefined {
  if (choice === undefined || choice === 'auto' || choice === 'none') return choice;
  if (choice === 'required') {
    if (!tools) throw new TypeError('toolChoice "required" needs at least one tool in runtime "tools"');
    return choice;
  }
  if (typeof choice === 'object' && choice !== null && choice.type === 'tool' && typeof choice.name === 'string') {
    if (!tools?.some((t) => t.name === choice.name)) {
      const known = tools?.map((t) => `"${t.name}"`).join(', ');
      throw new TypeError(`toolChoice names the tool "${choice.name}", which is not among the call's tools (${known || 'none'})`);
    }
    return choice;
  }
  throw new TypeError(`toolChoice must be "auto", "none", "required" or { type: "tool", name }, not ${JSON.stringify(choice)}`);
}
