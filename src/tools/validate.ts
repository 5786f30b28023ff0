// Argument validation against each tool contract's JSON Schema (ajv), compiled once per workspace.
import type { Ajv, ValidateFunction, ErrorObject } from 'ajv';
import { contractAjv } from '../config/contract-schema.js';
import type { ToolContract } from '../config/schema.js';

/** Validates proposed arguments; messages say which argument and what was expected. */
export class ArgumentValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly tools: ReadonlyMap<string, ToolContract>) {
    // Lenient here: a workspace's schemas were checked strictly when it loaded (config/contract-schema.ts).
    this.ajv = contractAjv({ strict: false });
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
    const unchecked = [`${tool}: the arguments could not be checked against the contract's input schema`];
    // INVARIANT: only a literal `true` passes. An `$async` schema answers with a promise (truthy): never called.
    if ((fn as { $async?: unknown }).$async === true) return unchecked;
    if (fn(args) === true) return [];
    const problems = (fn.errors ?? []).map((e) => formatAjvError(tool, e));
    return problems.length > 0 ? problems : unchecked;
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
