import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { JSONPath } from './jsonc';

/**
 * The two project schemas, bundled into the code (esbuild inlines the JSON): the daemon validates
 * with exactly the schema it ships, wherever it is installed.
 */

/** The subset of JSON Schema the project schemas use: enough to walk them for hover and completion. */
export interface SchemaNode {
  type?: string;
  description?: string;
  enum?: unknown[];
  examples?: unknown[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  required?: string[];
  minimum?: number;
  maximum?: number;
}

// Required, not read: esbuild inlines the JSON, so the bundled daemon needs no schemas folder beside it.
/* eslint-disable @typescript-eslint/no-require-imports */
export const PROJECT_SCHEMA: SchemaNode = require('../../schemas/project.schema.json');
export const ALIGNMENT_SCHEMA: SchemaNode = require('../../schemas/project-alignment.schema.json');
export const CLI_ALIGNMENT_SCHEMA: SchemaNode = require('../../schemas/alignment.schema.json');
/* eslint-enable @typescript-eslint/no-require-imports */

let compiled: { project: ValidateFunction; alignment: ValidateFunction; cli: ValidateFunction } | undefined;

/** Compiled on first use: Ajv's code generation costs more than a daemon's idle start-up should. */
function validators() {
  compiled ??= (() => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    return { project: ajv.compile(PROJECT_SCHEMA), alignment: ajv.compile(ALIGNMENT_SCHEMA), cli: ajv.compile(CLI_ALIGNMENT_SCHEMA) };
  })();
  return compiled;
}

export function validateProject(value: unknown): ErrorObject[] {
  const v = validators().project;
  return v(value) ? [] : [...(v.errors ?? [])];
}

/** The CLI's alignment file (`sync`, `comp --alignment`) against schemas/alignment.schema.json. */
export function validateCliAlignment(value: unknown): ErrorObject[] {
  const v = validators().cli;
  return v(value) ? [] : [...(v.errors ?? [])];
}

export function validateAlignmentFile(value: unknown): ErrorObject[] {
  const v = validators().alignment;
  return v(value) ? [] : [...(v.errors ?? [])];
}

/** The schema of the value at `path` in a project (array indices step into `items`). */
export function schemaAt(path: JSONPath): SchemaNode | undefined {
  let s: SchemaNode | undefined = PROJECT_SCHEMA;
  for (const seg of path) {
    if (!s) return undefined;
    s = typeof seg === 'number' ? s.items : s.properties?.[seg];
  }
  return s;
}
