import * as vscode from 'vscode';
import { registerCodeLenses } from './codelens';
import { registerCommands } from './commands';
import { Ctx } from './ctx';
import { LiveAlign } from './live';
import { registerLog } from './log';
import { notices, type Notice } from './notify';
import { Previews } from './preview';
import { createStatusItem, statusView } from './status';

/**
 * The vidkompy extension: a thin client of the vidkompy daemon (dist/daemon.js, a language server).
 * Everything that reads video runs in the daemon; this side is editor glue: commands, the status
 * bar, CodeLens, live re-alignment after edits, the log and the drift preview.
 */

/** What `activate` returns (`extensions.getExtension('vidkompy.vidkompy').exports`), for tests. */
export interface VidkompyApi {
  /** The daemon's state and the status bar's text and tooltip. */
  status(): { state: string; text: string; tooltip: string };
  /** Every text the status bar item has shown since activation (the last 2000), in order. */
  statusTexts(): string[];
  /** Every message the extension has shown since activation (the last 500), in order. */
  notices(): Notice[];
  /** The file the vidkompy log (its output channel) is written to. */
  logFile(): string;
  /** The projects with an open preview, as file paths. */
  previews(): string[];
  /** What the open preview of the project at `file` was sent, in order: a running align's 'coarse' map, a 'result', or 'none'. */
  previewShown(file: string): ('coarse' | 'result' | 'none')[];
  /** Every daemon state since activation, in order. */
  states(): string[];
  /** Resolves when the daemon answers (starting it if needed). */
  ready(): Promise<void>;
}

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): VidkompyApi {
  const c = new Ctx(context);
  ctx = c;
  const previews = new Previews(c);
  const live = new LiveAlign(c);
  const status = createStatusItem(c, live);
  context.subscriptions.push(c, previews, live, status, registerLog(c), registerCodeLenses(), ...registerCommands(c, previews));
  // Not awaited: activation must not wait for the daemon. A failed start shows in the status bar
  // and the log, and every command that needs the daemon tries again.
  const states: string[] = [c.state];
  context.subscriptions.push(c.onDidChangeState((s) => states.push(s)));
  c.start().catch((e: unknown) => c.log.error(`${(e as Error)?.message ?? e}`));
  return {
    status: () => ({ state: c.state, ...statusView(c.state, c.status, c.problem, live.view(), c.coarse) }),
    statusTexts: () => status.texts(),
    notices,
    // Where VS Code writes a log output channel: the extension's log folder, the channel's name.
    logFile: () => vscode.Uri.joinPath(context.logUri, `${c.log.name}.log`).fsPath,
    previews: () => previews.projects().map((u) => u.fsPath),
    previewShown: (file) => previews.shown(vscode.Uri.file(file)),
    states: () => [...states],
    ready: async () => void (await c.ready()),
  };
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.stop();
}
