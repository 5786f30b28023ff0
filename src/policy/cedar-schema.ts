// Airlock's Cedar vocabulary: the generated schema (namespace `Airlock`) and the entity builders.
// Pure: no IO; the schema is plain JSON in Cedar's JSON schema form.
import { AirlockError, AirlockErrors } from '../errors.js';
import type { ToolContract, ValueBudget } from '../config/schema.js';
import type { Principal, PrincipalKind } from '../types.js';
import type { CedarEntity, EntityUid } from './engine.js';

/** The Cedar namespace every Airlock entity type and action lives in. */
export const NAMESPACE = 'Airlock';

/** Fully qualified Cedar entity type names. */
export const ENTITY_TYPES = {
  user: `${NAMESPACE}::User`,
  agent: `${NAMESPACE}::Agent`,
  service: `${NAMESPACE}::Service`,
  role: `${NAMESPACE}::Role`,
  tool: `${NAMESPACE}::Tool`,
  action: `${NAMESPACE}::Action`,
} as const;

/** The action every proposal is checked against: `Airlock::Action::"call"`. */
export const CALL_ACTION = { type: ENTITY_TYPES.action, id: 'call' } as const;
/** Whether a person may approve (or reject) a pending action on a tool: `Airlock::Action::"approve"`. */
export const APPROVE_ACTION = { type: ENTITY_TYPES.action, id: 'approve' } as const;
/** Whether a person may issue a standing grant (a scoped, time-boxed pre-approval): `Airlock::Action::"grant"`. */
export const GRANT_ACTION = { type: ENTITY_TYPES.action, id: 'grant' } as const;

/** The Cedar entity type of each principal kind. */
export const PRINCIPAL_ENTITY_TYPE: Readonly<Record<PrincipalKind, string>> = {
  user: ENTITY_TYPES.user,
  agent: ENTITY_TYPES.agent,
  service: ENTITY_TYPES.service,
};

/** The type a contract can expose an argument as (`decimal`: Cedar's decimal extension type, 4 digits after the point). */
export type ExposeType = 'string' | 'long' | 'boolean' | 'decimal';

const CEDAR_TYPE: Readonly<Record<ExposeType, CedarSchemaType>> = {
  string: { type: 'String' },
  long: { type: 'Long' },
  boolean: { type: 'Boolean' },
  decimal: { type: 'Extension', name: 'decimal' },
};

/** How a contract exposes one field: a type, or `{ type, each }` (each element of an array argument in turn). */
export type ExposeEntry = ToolContract['expose'][string];

/** The Cedar type of an exposed field and, for `{ type, each }`, the array argument its values come from. */
export function exposedAs(entry: ExposeEntry): { readonly type: ExposeType; readonly each?: string } {
  return typeof entry === 'string' ? { type: entry } : entry;
}

/** A Cedar JSON schema type (the subset Airlock generates). */
export type CedarSchemaType =
  | { readonly type: 'String' | 'Long' | 'Boolean'; readonly required?: boolean }
  | { readonly type: 'Extension'; readonly name: 'decimal'; readonly required?: boolean }
  | { readonly type: 'Set'; readonly element: CedarSchemaType; readonly required?: boolean }
  | {
      readonly type: 'Record';
      readonly required?: boolean;
      readonly attributes: { readonly [k: string]: CedarSchemaType };
    };

/** A Cedar schema in JSON form: `{ Airlock: { entityTypes, actions } }`. */
export interface CedarSchemaJson {
  readonly [namespace: string]: {
    readonly entityTypes: { readonly [name: string]: unknown };
    readonly actions: { readonly [name: string]: unknown };
  };
}

/**
 * The union of every contract's exposed argument fields, name → type, sorted by name.
 * Throws `AirlockErrors` (code `config`) when two tools expose one field with different types.
 */
export function exposedFields(contracts: readonly ToolContract[]): ReadonlyMap<string, ExposeType> {
  const fields = new Map<string, { type: ExposeType; tool: string }>();
  const errors: AirlockError[] = [];
  for (const c of contracts) {
    for (const [field, entry] of Object.entries(c.expose)) {
      const { type } = exposedAs(entry);
      const seen = fields.get(field);
      if (seen === undefined) fields.set(field, { type, tool: c.name });
      else if (seen.type !== type) {
        errors.push(
          new AirlockError(
            'config',
            `argument \`${field}\` is exposed as \`${type}\` by \`${c.name}\` but as \`${seen.type}\` by \`${seen.tool}\``,
            {
              hint: 'policies see one `context.args` record, so a field name must have one type across all tools',
              location: { path: `tools.${c.name}.expose.${field}` },
            },
          ),
        );
      }
    }
  }
  if (errors.length > 0) throw new AirlockErrors(errors);
  return new Map([...fields.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v.type]));
}

/**
 * The Cedar schema for a workspace: principals (User, Agent, Service, members of Role), Role,
 * Tool (effect, risk, connector, classification, irreversible) and three actions:
 * - `call` (any principal): context carries the workflow, tier, labels, optional `onBehalfOf`
 *   (`kind:id`, e.g. `user:dana`), every exposed argument (optional, typed) and, for a tool a value
 *   budget counts, `value.<budget>` (`spent`, `wouldBe`, `limit`, `exceeds`), optional; and, in a
 *   run, `provenance.<field>` for each exposed argument present (`seen`, `trusted`, `sources`,
 *   `untrustedSources`), optional;
 * - `approve` (people only): the same, plus the `requester`, the obligation `level`, optional
 *   `editedBy` (who edited the arguments), and how the approver authenticated (`authMethod`,
 *   optional `authAgeSeconds`);
 * - `grant` (people only): the workflow, tier, the grant's bounds as `args` (the largest action it
 *   covers), `durationMinutes`, optional `maxUses`, `authMethod`, optional `authAgeSeconds`.
 */
export function buildCedarSchema(contracts: readonly ToolContract[], valueBudgets: readonly Pick<ValueBudget, 'name'>[] = []): CedarSchemaJson {
  const args: Record<string, CedarSchemaType> = {};
  for (const [field, type] of exposedFields(contracts)) args[field] = { ...CEDAR_TYPE[type], required: false };
  const str = { type: 'String' } as const;
  const long = { type: 'Long' } as const;
  const optional = <T extends object>(t: T) => ({ ...t, required: false });
  const principal = { memberOfTypes: ['Role'] };
  const callContext = {
    workflow: str,
    tier: str,
    args: { type: 'Record', attributes: args },
    labels: { type: 'Record', attributes: { classification: str, trust: str } },
    onBehalfOf: optional(str),
  };
  // Each value budget a call counts against, where it stands with the call added: seen by `call` only
  // (an approver's policy that read it would never see it filled, so it does not validate).
  const valueContext = {
    value: optional({
      type: 'Record',
      attributes: Object.fromEntries(
        valueBudgets.map((b) => [b.name, optional({ type: 'Record', attributes: { spent: long, wouldBe: long, limit: long, exceeds: { type: 'Boolean' } } })]),
      ),
    }),
  };
  // Where each exposed argument's value came from (context/provenance.ts): seen by `call` only, like `value`.
  const strings = { type: 'Set', element: str } as const;
  const origin = { type: 'Record', attributes: { seen: { type: 'Boolean' }, trusted: { type: 'Boolean' }, sources: strings, untrustedSources: strings } } as const;
  const provenanceContext = {
    provenance: optional({ type: 'Record', attributes: Object.fromEntries(Object.keys(args).map((f) => [f, optional(origin)])) }),
  };
  const authContext = { authMethod: str, authAgeSeconds: optional(long) };
  return {
    [NAMESPACE]: {
      entityTypes: {
        Role: {},
        User: principal,
        Agent: principal,
        Service: principal,
        Tool: {
          shape: {
            type: 'Record',
            attributes: {
              effect: str,
              risk: str,
              connector: str,
              classification: str,
              irreversible: { type: 'Boolean' },
            },
          },
        },
      },
      actions: {
        call: {
          appliesTo: {
            principalTypes: ['User', 'Agent', 'Service'],
            resourceTypes: ['Tool'],
            context: { type: 'Record', attributes: { ...callContext, ...valueContext, ...provenanceContext } },
          },
        },
        approve: {
          appliesTo: {
            principalTypes: ['User'],
            resourceTypes: ['Tool'],
            context: { type: 'Record', attributes: { ...callContext, requester: str, level: str, editedBy: optional(str), ...authContext } },
          },
        },
        grant: {
          appliesTo: {
            principalTypes: ['User'],
            resourceTypes: ['Tool'],
            context: {
              type: 'Record',
              attributes: {
                workflow: str,
                tier: str,
                args: { type: 'Record', attributes: args },
                durationMinutes: long,
                maxUses: optional(long),
                ...authContext,
              },
            },
          },
        },
      },
    },
  };
}

/** The entity for a role: `Airlock::Role::"<name>"`, no attributes, no parents. */
export function roleEntity(role: string): CedarEntity {
  return { uid: { type: ENTITY_TYPES.role, id: role }, attrs: {}, parents: [] };
}

/** The entity uid for a principal, typed by its kind (`Airlock::Agent::"refund-bot"`). */
export function principalUid(principal: Pick<Principal, 'kind' | 'id'>): EntityUid {
  return { type: PRINCIPAL_ENTITY_TYPE[principal.kind], id: principal.id };
}

/** The entity for a principal: no attributes, its roles as parents. */
export function principalEntity(principal: Principal): CedarEntity {
  return {
    uid: principalUid(principal),
    attrs: {},
    parents: principal.roles.map((r) => ({ type: ENTITY_TYPES.role, id: r })),
  };
}

/** The entity for a tool: `Airlock::Tool::"<name>"` with effect, risk, connector, classification, irreversible. */
export function toolEntity(contract: ToolContract): CedarEntity {
  return {
    uid: { type: ENTITY_TYPES.tool, id: contract.name },
    attrs: {
      effect: contract.effect,
      risk: contract.risk,
      connector: contract.connector,
      classification: contract.classification,
      irreversible: contract.irreversible,
    },
    parents: [],
  };
}
