/**
 * The temporal engines by name: what projects, the CLI and the `vidkompy.defaultEngine` setting
 * accept. Plain data with no imports, so the engine and the extension share it without either
 * pulling in the other.
 */
export const ENGINES = ['full', 'mask', 'fast', 'precise', 'edit'] as const;
export type Engine = (typeof ENGINES)[number];
