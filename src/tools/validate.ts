// Argument validation against each tool contract's JSON Schema (ajv), compiled once per workspace.
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { ToolContract } from '../config/schema.js';

const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

/** Validates proposed arguments; messages say which argument and what was expected. */
export class ArgumentValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly tools: ReadonlyMap<string, ToolContract>) {
    this.ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(this.ajv);
  }

  /** Returns the list of problems; empty when the arguments fit the contract. */
  validate(tool: string, args: unknown): string[] {
    const contract = this.tools.get(tool);
    if (!contract) return [`tool \`${tool}\` is not declared`];
    if (args === null || typeof args !== 'object' || Array.isArray(args)) return ['arguments must be a JSON object'];
    let fn = this.compiled.get(tool);
    if (!fn) {
      fn = this.ajv.compile(contract.inputSchema);
      this.compiled.set(tool, fn);
    }
    if (fn(args)) return [];
    return (fn.errors ?? []).map((e) => formatAjvError(tool, e));
  }
}

function formatAjvError(tool: string, e: ErrorObject): string {
  const where = e.instancePath ? `argument \`${e.instancePath.slice(1).replace(/\//g, '.')}\`` : 'arguments';
  let what = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') {
    what = `has unexpected property \`${String((e.params as { additionalProperty: string }).additionalProperty)}\``;
  } else if (e.keyword === 'enum') {
    what = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => `\`${String(v)}\``).join(', ')}`;
  }
  return `${tool}: ${where} ${what}`;
}
