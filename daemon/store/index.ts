/**
 * Alignments on disk: the CLI's alignment file and a project's committed alignment, their formats
 * and when each is stale. The engine returns results in memory only; everything that reads or
 * writes them (the CLI, project jobs, the preview) goes through here.
 */
export { alignmentText, readAlignment, savedTrust } from './alignmentFile';
export * from './projectAlignment';
export { layoutJson } from './json';
