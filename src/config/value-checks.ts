// Checks of value budgets: a contract's `value` names arguments its input schema requires with the
// right types, and each `valueBudgets` entry names tools that declare `value` (with a `key` when the
// budget is kept per key). Problems go to `at` with the path they are about.
import type { PathSegment } from './locate.js';
import type { ToolContract, WorkspaceFile } from './schema.js';

type At = (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void;

/** One contract's `value` against its input schema's properties (`props`) and `required` list. */
export function checkContractValue(t: ToolContract, props: Record<string, Record<string, unknown>> | undefined, at: At): void {
  if (!t.value) return;
  if (t.effect === 'read') at(['value'], `\`${t.name}\` is a read: it moves no value`, 'declare `value` on the tool that pays, transfers or refunds');
  if (!props) return;
  const required = new Set(Array.isArray((t.inputSchema as { required?: unknown }).required) ? ((t.inputSchema as { required: unknown[] }).required as string[]) : []);
  const want: [keyof NonNullable<ToolContract['value']>, 'integer' | 'string'][] = [
    ['amount', 'integer'],
    ['currency', 'string'],
    ['key', 'string'],
  ];
  for (const [part, type] of want) {
    const arg = t.value[part];
    if (arg === undefined) continue;
    const prop = props[arg];
    if (!prop) {
      at(['value', part], `\`value.${part}\` names argument \`${arg}\`, which the input schema does not declare`, `declare \`${arg}\` under \`inputSchema.properties\``);
      continue;
    }
    if (prop['type'] !== type) {
      at(['value', part], `\`value.${part}\` argument \`${arg}\` must be of type \`${type}\` in the input schema`, part === 'amount' ? 'amounts are whole numbers in the smallest unit (cents)' : undefined);
    }
    const min = prop['minimum'];
    if (part === 'amount' && !(typeof min === 'number' && min >= 0)) {
      at(['value', part], `\`value.amount\` argument \`${arg}\` must have \`minimum: 0\` (or more) in the input schema`, 'a negative amount would lower the sum a value budget keeps');
    }
    const max = prop['maximum'];
    if (part === 'amount' && !(typeof max === 'number' && max <= MAX_AMOUNT)) {
      at(['value', part], `\`value.amount\` argument \`${arg}\` must have a \`maximum\` of at most ${MAX_AMOUNT} in the input schema`, 'sums must stay exact whole numbers (and within what policies can compare)');
    }
    if (part === 'currency' && !currencyCodes(prop)) {
      at(['value', part], `\`value.currency\` argument \`${arg}\` must be an \`enum\` of ISO 4217 codes in upper case (\`[EUR, USD]\`)`, 'a free-text currency could be spelt so that no budget counts it');
    }
    if (!required.has(arg)) {
      at(['value', part], `\`value.${part}\` argument \`${arg}\` must be required by the input schema`, `add \`${arg}\` to \`inputSchema.required\`: a call without it could not be counted`);
    }
  }
}

/** The largest amount a call may move (sums of them stay exact in a double and in Cedar's Long). */
export const MAX_AMOUNT = 1_000_000_000_000_000;

/** The currencies an input schema property allows, when it is an enum of upper-case ISO codes. */
function currencyCodes(prop: Record<string, unknown> | undefined): string[] | null {
  const e = prop?.['enum'] ?? (prop?.['const'] !== undefined ? [prop['const']] : undefined);
  if (!Array.isArray(e) || e.length === 0 || !e.every((c) => typeof c === 'string' && /^[A-Z]{3}$/.test(c))) return null;
  return e as string[];
}

/** The workspace's `valueBudgets` against its tools. */
export function checkValueBudgets(file: WorkspaceFile, tools: ReadonlyMap<string, ToolContract>, at: At): void {
  const names = new Set<string>();
  file.valueBudgets.forEach((b, i) => {
    if (names.has(b.name)) at(['valueBudgets', i, 'name'], `duplicate value budget \`${b.name}\``, 'give each value budget a unique `name`');
    names.add(b.name);
    b.tools.forEach((name, j) => {
      const t = tools.get(name);
      if (!t) {
        at(['valueBudgets', i, 'tools', j], `value budget \`${b.name}\` counts tool \`${name}\`, which is not declared`, 'name a declared tool contract');
        return;
      }
      if (!t.value) {
        at(['valueBudgets', i, 'tools', j], `tool \`${name}\` declares no \`value\`, so value budget \`${b.name}\` cannot count it`, 'add `value: { amount: <argument>, currency: <argument> }` to its contract');
        return;
      }
      if (b.per.includes('key') && !t.value.key) {
        at(['valueBudgets', i, 'per'], `value budget \`${b.name}\` is kept per key, but tool \`${name}\` declares no \`value.key\``, 'name the argument to key it by (a payee, an account) in the contract\'s `value.key`');
      }
      if (b.currency && !t.value.currency) {
        at(['valueBudgets', i, 'currency'], `value budget \`${b.name}\` counts only ${b.currency}, but tool \`${name}\` declares no \`value.currency\``, 'name the argument holding the currency in the contract\'s `value.currency`');
      }
    });
  });
  // Every currency a counted tool can move is counted by some budget: a payment in a currency no
  // budget names would move value with no limit at all.
  for (const [name, t] of tools) {
    const counting = file.valueBudgets.filter((b) => b.tools.includes(name));
    if (counting.length === 0 || !t.value?.currency) continue;
    const props = (t.inputSchema as { properties?: Record<string, Record<string, unknown>> }).properties;
    for (const code of currencyCodes(props?.[t.value.currency]) ?? []) {
      if (counting.some((b) => b.currency === undefined || b.currency === code)) continue;
      const index = file.tools.findIndex((x) => x.name === name);
      at(['tools', index, 'value', 'currency'], `tool \`${name}\` can move ${code}, which no value budget counts`, `add a value budget for ${code} (or one without \`currency\`), or take ${code} out of the argument's \`enum\``);
    }
  }
}
