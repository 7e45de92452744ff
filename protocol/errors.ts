/**
 * What can go wrong, as every front end sees it: the code of each error a user can cause, and the
 * fix it suggests as data, so the CLI can say `--x-shift` where the editor says `"spatial"`.
 * Plain data with no imports: the daemon, the extension and tests share it.
 */
export const ERROR_CODES = [
  'ENOENT',
  'NOT_VIDEO',
  'NO_VIDEO_STREAM',
  'NO_FRAMES',
  'DECODE',
  'FG_LARGER',
  'NOT_FOUND',
  'UNWRITABLE',
  'BAD_ARGS',
  'TOOL_MISSING',
  'CANCELLED',
  'ENCODE',
  'STALE',
  'UNTRUSTED',
  /** The alignment is not sure enough to render (fg unrelated, swapped, bg too short, several places): --force renders anyway. */
  'UNSURE',
  /** The job queue (Redis) cannot be reached or refused the request. */
  'QUEUE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The settings a fix can point at: each front end names them its own way (see OPTION_NAMES). */
export type OptionKey = 'placement' | 'placementMode' | 'features' | 'engine' | 'audio' | 'order' | 'force' | 'anchors' | 'forceAlign' | 'queue';

/**
 * A fix, worded by the front end that shows it: options to change (the CLI names its flags, the
 * editor the project's fields), or a command to run (the CLI's subcommand, the editor's palette title).
 * `lead` is said first ("check that fg shows part of bg, or"), `to` after the names ("pixels").
 */
export type Fix =
  | { kind: 'options'; verb: 'give' | 'use' | 'check'; options: OptionKey[]; to?: string; lead?: string }
  /** `check`: the project has more findings than the message names (the CLI's check, the editor's Problems panel). */
  | { kind: 'command'; command: 'align' | 'realign' | 'check' }
  | { kind: 'output'; want: OutputWant };

/** What the output path needs, said as the CLI's -o or the project's "output". */
export type OutputWant = 'another' | 'file name' | 'writable folder';
const OUTPUT_WORDS: Record<OutputWant, { cli: string; editor: string }> = {
  another: { cli: 'choose another -o', editor: 'choose another "output"' },
  'file name': { cli: 'give a file name with -o', editor: 'give a file name in "output"' },
  'writable folder': { cli: 'choose a writable folder with -o', editor: 'choose a writable folder for "output"' },
};

/**
 * How the CLI and the editor spell each option a fix can name: the editor's name is a project
 * field, or a setting where the option is one (no name: the editor has no such option).
 */
export const OPTION_NAMES: Record<OptionKey, { cli: string; project?: string }> = {
  placement: { cli: '--x-shift, --y-shift and --scale', project: '"spatial": {"x", "y", "scale"}' },
  placementMode: { cli: '--placement', project: '"placement"' },
  features: { cli: '--features', project: '"features"' },
  engine: { cli: '--engine', project: '"engine"' },
  audio: { cli: '--audio', project: '"audio"' },
  order: { cli: 'the --bg/--fg order', project: 'the "bg"/"fg" order' },
  force: { cli: '--force' },
  forceAlign: { cli: '--force', project: '"force": true' },
  anchors: { cli: 'anchors (a project\'s "anchors")', project: '"anchors"' },
  queue: { cli: '--queue', project: 'the vidkompy.queue setting' },
};

export type FrontEnd = 'cli' | 'editor';

/**
 * A fix in the words of one front end, to follow the problem after "; " (empty: nothing that front
 * end can do). `file`: the file the error is about, which the CLI's commands name.
 */
export function wordFix(fix: Fix, front: FrontEnd, file?: string): string {
  if (fix.kind === 'output') return OUTPUT_WORDS[fix.want][front];
  if (fix.kind === 'command' && fix.command === 'check') {
    return front === 'cli' ? `run 'vidkompy check ${file ?? 'PROJECT'}' for details` : 'the Problems panel has the details';
  }
  if (fix.kind === 'command') {
    const how = front === 'cli' ? "'vidkompy run PROJECT'" : 'vidkompy: Align';
    return fix.command === 'align' ? `align the project first (${how})` : `re-align the project (${how})`;
  }
  // Options this front end has no name for are left out; none left: nothing it can do.
  const names = fix.options.map((o) => OPTION_NAMES[o][front === 'cli' ? 'cli' : 'project']).filter((n): n is string => n !== undefined);
  if (!names.length) return '';
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names[0];
  const verb = front === 'editor' && fix.verb !== 'check' ? 'set' : fix.verb;
  const to = fix.to ? (front === 'editor' && fix.verb !== 'check' ? ` to ${fix.to}` : ` ${fix.to}`) : '';
  return `${fix.lead ? fix.lead + ' ' : ''}${verb} ${list}${to}`;
}
