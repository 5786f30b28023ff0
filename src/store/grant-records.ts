// Standing grants as the store keeps them (`Store.createGrant`, `useGrant`): an owner's scoped, time-boxed
// pre-approval of a kind of action.
import type { Json } from '../types.js';

/** Bounds a standing grant puts on one exposed argument: a number at most `max`, or exactly `equals`. */
export interface GrantBound {
  readonly max?: number;
  readonly equals?: string | number | boolean;
}

/**
 * A standing grant: an owner's scoped, time-boxed pre-approval of a kind of action ("refunds up to
 * 20.00 EUR in refund-desk for the next hour"). Each use is recorded and counted.
 */
export interface GrantRecord {
  readonly id: string;
  readonly workflow: string;
  readonly tool: string;
  /** Every exposed argument named here must be present and within its bound. */
  readonly bounds: { readonly [field: string]: GrantBound };
  /** `user:<id>` who granted it. */
  readonly grantor: string;
  /** How the grantor authenticated (issuer, subject, method, authTime). */
  readonly grantorAuth: Json;
  readonly reason: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** At most this many uses; null: unlimited until it expires. */
  readonly maxUses: number | null;
  readonly uses: number;
  readonly status: 'active' | 'revoked';
  /** The `grant` policies that allowed it. */
  readonly policyIds: readonly string[];
}
