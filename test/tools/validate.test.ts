// Argument validation fails closed: only a schema that says "valid" lets arguments through.
import { describe, expect, it } from 'vitest';
import { toolContractSchema } from '../../src/config/schema.js';
import { ArgumentValidator } from '../../src/tools/validate.js';

const contract = (inputSchema: Record<string, unknown>) =>
  toolContractSchema.parse({ name: 'svc.do_it', connector: 'svc', description: 'Does it.', effect: 'read', risk: 'low', inputSchema });

describe('ArgumentValidator', () => {
  it('checks arguments against the contract and names what is wrong', () => {
    const v = new ArgumentValidator(new Map([['svc.do_it', contract({ type: 'object', properties: { a: { type: 'string', maxLength: 3 } }, additionalProperties: false })]]));
    expect(v.validate('svc.do_it', { a: 'abc' })).toEqual([]);
    expect(v.validate('svc.do_it', { a: 'abcd' }).join()).toMatch(/argument `a` must NOT have more than 3 characters/);
  });

  // A schema marked `$async` compiles to a function that returns a promise, which is truthy: it must
  // not read as "valid" (an upstream's draft could carry it; loading refuses it, this is the last guard).
  it('refuses arguments when the schema answers anything but `true` (an `$async` schema)', () => {
    const v = new ArgumentValidator(new Map([['svc.do_it', contract({ $async: true, type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false })]]));
    expect(v.validate('svc.do_it', { a: 1, extra: true })).toEqual(['svc.do_it: the arguments could not be checked against the contract\'s input schema']);
  });
});
