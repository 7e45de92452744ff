import * as vscode from 'vscode';
import { registerCodeLenses } from './codelens';
import { registerCommands } from './commands';
import { Ctx } from './ctx';
import { Previews } from './preview';
import { createStatusItem, statusView } from './status';

/**
 * The vidkompy extension: a thin client of the vidkompy daemon (dist/daemon.js, a language server).
 * Everything that reads video runs in the daemon; this side is editor glue: commands, the status
 * bar, CodeLens and the drift preview.
 */

/** What `activate` returns (`extensions.getExtension('vidkompy.vidkompy').exports`), for tests. */
export interface VidkompyApi {
  /** The daemon's state and the status bar's text and tooltip. */
  status(): { state: string; text: string; tooltip: string };
  /** The projects with an open preview, as file paths. */
  previews(): string[];
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
  context.subscriptions.push(c, previews, createStatusItem(c), registerCodeLenses(), ...registerCommands(c, previews));
  // Not awaited: activation must not wait for the daemon. A failed start shows in the status bar
  // and the log, and every command that needs the daemon tries again.
  const states: string[] = [c.state];
  context.subscriptions.push(c.onDidChangeState((s) => states.push(s)));
  c.start().catch((e: unknown) => c.log.error(`${(e as Error)?.message ?? e}`));
  return {
    status: () => ({ state: c.state, ...statusView(c.state, c.status, c.problem) }),
    previews: () => previews.projects().map((u) => u.fsPath),
    states: () => [...states],
    ready: async () => void (await c.ready()),
  };
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.stop();
}
