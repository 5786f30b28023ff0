// The iteration budget of an evaluation: a counter spliced into every comprehension of a compiled expression (pure).
import type { CelExpr } from './cel-types.js';

/** The name of the iteration counter spliced into every comprehension; `@` keeps it out of reach of the source. */
export const STEP = '@airlock_step';

/**
 * Splices the iteration counter into every comprehension: its loop condition `c` becomes
 * `@airlock_step(c)`, evaluated once per iteration; past the budget it is an error, which ends the loop.
 */
export function countIterations(root: CelExpr, firstId: bigint): CelExpr {
  let next = firstId;
  const visit = (e: CelExpr | undefined): void => {
    if (e === undefined) return;
    const k = e.exprKind;
    switch (k.case) {
      case 'selectExpr':
        visit(k.value.operand);
        return;
      case 'callExpr':
        visit(k.value.target);
        k.value.args.forEach(visit);
        return;
      case 'listExpr':
        k.value.elements.forEach(visit);
        return;
      case 'structExpr':
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value);
          visit(entry.value);
        }
        return;
      case 'comprehensionExpr': {
        const c = k.value;
        [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].forEach(visit);
        const cond = c.loopCondition;
        if (cond !== undefined) {
          c.loopCondition = {
            $typeName: 'cel.expr.Expr',
            id: next++,
            exprKind: { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: STEP, args: [cond] } },
          };
        }
        return;
      }
      default:
        return;
    }
  };
  visit(root);
  return root;
}
