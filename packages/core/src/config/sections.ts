import type { z } from 'zod';
import type { ConfigIssue } from '../errors/index.js';
import type { RawProfile } from './types.js';
import { validateValues } from './validate.js';
import { convertNode, pathKey, type ConvertOptions } from './yaml-values.js';
import type { SectionNode, YamlSource } from './yaml-source.js';

/**
 * A top-level section of backends.yaml that another package owns (the
 * gateway's `gateway:`): its values after `${VAR}` interpolation, where each
 * field is, and the problems found while reading it. Core does not know its
 * schema; the owner validates it with {@link validateSection}.
 */
export interface RawSection {
  /** The top-level key. */
  name: string;
  /** The config file as shown in messages, and the line of the key. */
  file: string;
  line: number;
  /** The section's value as plain JS values (`null` when empty). */
  values: unknown;
  /** Position of a field (path relative to the section). */
  locate(path: readonly (string | number)[]): { line: number; column: number } | undefined;
  /** Missing variables, duplicate keys... found while reading. */
  issues: ConfigIssue[];
  /** Values that came from environment variables: secrets unless proven otherwise. Never log them. */
  substitutedValues: string[];
}

export function readSection(source: YamlSource, entry: SectionNode, options: Omit<ConvertOptions, 'profile'>): RawSection {
  const converted = convertNode(source, entry.node, options);
  const { fieldPositions, valuePositions } = converted;
  return {
    name: entry.name,
    file: source.file,
    line: entry.line,
    values: converted.value,
    locate(fieldPath) {
      if (fieldPath.length === 0) return { line: entry.line, column: entry.column };
      const key = pathKey(fieldPath);
      return fieldPositions.get(key) ?? valuePositions.get(key);
    },
    issues: converted.issues,
    substitutedValues: [...new Set(converted.substitutedValues)],
  };
}

export type SectionValidation<T> = { ok: true; config: T } | { ok: false; issues: ConfigIssue[] };

/**
 * Validates a section against its owner's zod object schema, with the same
 * rules and messages as a profile: file:line of each field, unknown fields
 * with a did-you-mean, strings coerced to numbers and booleans, values from
 * the environment never shown. Fields are named from the top (`gateway.keys[0].key`).
 */
export function validateSection<S extends z.ZodObject<any>>(section: RawSection, schema: S): SectionValidation<z.output<S>> {
  const values = section.values === null || section.values === undefined ? {} : section.values;
  if (typeof values !== 'object' || Array.isArray(values)) {
    return { ok: false, issues: [{ file: section.file, line: section.line, field: section.name, message: `"${section.name}" must be a mapping` }] };
  }
  const asProfile: RawProfile = { ...section, type: '', values: values as Record<string, unknown> };
  // No implicit keys: `profile_name` and `type` belong to profiles, not to sections.
  const result = validateValues(asProfile, schema, []);
  if (result.ok) return { ok: true, config: result.config as z.output<S> };
  return {
    ok: false,
    issues: result.issues.map(({ profile: _profile, ...issue }) => ({
      ...issue,
      field: issue.field === undefined ? section.name : `${section.name}${issue.field.startsWith('[') ? '' : '.'}${issue.field}`,
    })),
  };
}
