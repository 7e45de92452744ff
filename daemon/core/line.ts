/** The robust line lives in protocol/drift.ts, so that the preview fits the drift the same way. */
export { robustLine } from '../../protocol/drift';
