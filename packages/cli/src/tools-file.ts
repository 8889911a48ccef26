/**
 * `aegis complete --tools FILE`: the tools the model may call, from a JSON
 * file: a list of `{ name, description?, parameters? }` (parameters a JSON
 * Schema), or of OpenAI's `{ "type": "function", "function": { ... } }`, or
 * an object with such a list in `tools`. The file is read with a size limit
 * and every problem names the file and the entry.
 */
import { TOOL_NAME_PATTERN, type ToolChoice, type ToolDefinition } from '@aegis/core';
import { UsageError } from './errors.js';
import { readLimited } from './read-limited.js';

/** The largest tools file read (a tool list is a few KiB). */
export const MAX_TOOLS_FILE_BYTES = 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toolAt(entry: unknown, where: string): ToolDefinition {
  const fn = isRecord(entry) && entry.type === 'function' && isRecord(entry.function) ? entry.function : entry;
  if (!isRecord(fn)) throw new UsageError(`${where}: expected an object { "name", "description", "parameters" }`);
  // Core's rule (what every common chat API takes): a name that passed here would fail at the call.
  if (typeof fn.name !== 'string' || !TOOL_NAME_PATTERN.test(fn.name)) {
    throw new UsageError(`${where}: "name" must be 1 to 64 letters, digits, "_" or "-"`);
  }
  if (fn.description !== undefined && typeof fn.description !== 'string') throw new UsageError(`${where}: "description" must be a string`);
  const parameters = fn.parameters ?? { type: 'object', properties: {} };
  if (!isRecord(parameters)) throw new UsageError(`${where}: "parameters" must be a JSON Schema object`);
  return { name: fn.name, ...(fn.description !== undefined ? { description: fn.description as string } : {}), parameters };
}

/** The tools of a tools file (`shown` is how messages name it). */
export async function readToolsFile(file: string, shown: string): Promise<ToolDefinition[]> {
  const text = (await readLimited(file, shown, MAX_TOOLS_FILE_BYTES, 'tools file')).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the tools file ${shown} is not valid JSON: ${(error as Error).message}`);
  }
  const list = isRecord(json) && Array.isArray(json.tools) ? json.tools : json;
  if (!Array.isArray(list) || list.length === 0) {
    throw new UsageError(`the tools file ${shown} must hold a non-empty list of tools (or an object with one in "tools")`);
  }
  const tools = list.map((entry, i) => toolAt(entry, `${shown}: tools[${i}]`));
  const names = new Set<string>();
  for (const t of tools) {
    if (names.has(t.name)) throw new UsageError(`${shown}: the tool "${t.name}" is listed twice`);
    names.add(t.name);
  }
  return tools;
}

/** `--tool-choice`: auto, none, required, or the name of one of the tools. */
export function parseToolChoice(value: string | undefined, tools: readonly ToolDefinition[]): ToolChoice | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto' || value === 'none' || value === 'required') return value;
  if (tools.some((t) => t.name === value)) return { type: 'tool', name: value };
  throw new UsageError(`--tool-choice must be auto, none, required or the name of a tool in the tools file; "${value}" is none of these`);
}
