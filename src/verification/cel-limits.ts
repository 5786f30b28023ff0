// What a CEL expression may cost: the bounds on its source, its syntax tree, its comprehensions and the JSON bound to it.

/**
 * What an expression may cost. The library has no cost tracker, so Airlock bounds what it can:
 * the source and its syntax tree by size, comprehensions (`exists`, `all`, `filter`, `map`,
 * `exists_one`) by nesting and, at run time, by the total number of iterations of one evaluation;
 * the JSON bound to the variables by count, characters and depth. The worst case is still
 * iterations × the cost of one string function on the longest bound string.
 */
export const CEL_LIMITS = {
  /** Characters of source. */
  maxSourceLength: 4096,
  /** Nodes of the syntax tree (after macro expansion). */
  maxNodes: 2000,
  /** Comprehensions nested inside one another. */
  maxComprehensionDepth: 3,
  /** Comprehension iterations in one evaluation, all comprehensions together. */
  maxIterations: 50_000,
  /** JSON values (every scalar, array and object) bound to the variables of one evaluation. */
  maxInputValues: 200_000,
  /** Characters of all strings and keys bound to the variables of one evaluation. */
  maxInputChars: 2_000_000,
  /** Nesting of the JSON bound to a variable. */
  maxInputDepth: 64,
} as const;
