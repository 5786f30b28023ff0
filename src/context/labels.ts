// Data labels (pure): classification and trust travel from what was read into what is proposed.
import { CLASSIFICATIONS, type Classification, type Labels } from '../types.js';

/** What a run starts with before it has read anything. */
export const INITIAL_LABELS: Labels = { classification: 'public', trust: 'trusted' };

/** The join of two labels: the higher classification and the lower trust win. */
export function joinLabels(a: Labels, b: Labels): Labels {
  const classification: Classification =
    CLASSIFICATIONS.indexOf(a.classification) >= CLASSIFICATIONS.indexOf(b.classification)
      ? a.classification
      : b.classification;
  const trust = a.trust === 'untrusted' || b.trust === 'untrusted' ? 'untrusted' : 'trusted';
  return classification === a.classification && trust === a.trust ? a : { classification, trust };
}

/** True when data at this classification must be hashed with a key before it is stored. */
export function isSensitive(c: Classification): boolean {
  return c === 'confidential' || c === 'restricted';
}
