import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  TransportKind,
  type CloseHandlerResult,
  type DocumentSelector,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import type { InitializationOptions } from '../protocol/lsp';
import { PROJECT_GLOB } from '../protocol/project';

/**
 * Starting the daemon: `node dist/daemon.js --stdio` with the extension host's own Node (VS Code's
 * Electron as Node, or the server's node), speaking LSP over stdio. In development mode it also
 * opens the inspector on INSPECT_PORT, for the "Attach to daemon" launch configuration.
 */

export const CLIENT_ID = 'vidkompy';
export const INSPECT_PORT = 6009;

/** The project files the daemon serves: plain JSON documents named `*.vidkompy.json`. */
export const PROJECT_SELECTOR: DocumentSelector = [
  { scheme: 'file', language: 'json', pattern: PROJECT_GLOB },
  { scheme: 'file', language: 'jsonc', pattern: PROJECT_GLOB },
];

/** At most `max` automatic restarts within `windowMs`, like vscode-eslint's client. */
export class RestartBudget {
  private times: number[] = [];
  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Records a crash; the restart's number (1-based), or undefined when the budget is spent. */
  take(now = Date.now()): number | undefined {
    this.times = this.times.filter((t) => now - t < this.windowMs);
    if (this.times.length >= this.max) return undefined;
    this.times.push(now);
    return this.times.length;
  }

  reset(): void {
    this.times = [];
  }
}

export interface CrashPolicy {
  budget: RestartBudget;
  onRestart(count: number, max: number): void;
  onGiveUp(max: number): void;
}

/** What the client needs from the extension, passed explicitly (not the whole context: no import circle). */
export interface ClientDeps {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  /** The settings to send the daemon, read when the client (re)starts. */
  settings: () => unknown;
  /** Whether the workspace is trusted (false in Restricted Mode: the daemon then decodes nothing). */
  trusted: () => boolean;
  /** An Extension Development Host: run the daemon with the inspector. */
  development: boolean;
}

export function createClient(deps: ClientDeps, crash: CrashPolicy): LanguageClient {
  const daemon = vscode.Uri.joinPath(deps.extensionUri, 'dist', 'daemon.js').fsPath;
  const env = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
  const cwd = deps.extensionUri.fsPath;
  const serverOptions: ServerOptions = {
    run: { command: process.execPath, args: [daemon], transport: TransportKind.stdio, options: { env, cwd } },
    debug: { command: process.execPath, args: [`--inspect=${INSPECT_PORT}`, daemon], transport: TransportKind.stdio, options: { env, cwd } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: PROJECT_SELECTOR,
    outputChannel: deps.log,
    // Computed when the client (re)starts, so a restarted daemon gets the current settings.
    // Project files have one voice: the daemon validates them (no jsonValidation contribution for
    // them), so hovers, completion and diagnostics are not said twice.
    initializationOptions: (): InitializationOptions => ({ settings: deps.settings(), trusted: deps.trusted() }),
    errorHandler: errorHandler(crash),
    markdown: { isTrusted: false, supportHtml: false },
  };
  // forceDebug: the debug server options (the inspector) in an Extension Development Host.
  return new LanguageClient(CLIENT_ID, 'vidkompy daemon', serverOptions, clientOptions, deps.development);
}

function errorHandler(crash: CrashPolicy): ErrorHandler {
  return {
    // A failed write (EPIPE: the daemon died) or read is followed by the stream closing, and
    // closed() below restarts the daemon; shutting down here would skip that. Only a stream of
    // write errors on a connection that stays open ends it.
    error: (_error, _message, count): ErrorHandlerResult => ({ action: (count ?? 1) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true }),
    closed: (): CloseHandlerResult => {
      const n = crash.budget.take();
      if (n === undefined) {
        crash.onGiveUp(crash.budget.max);
        return { action: CloseAction.DoNotRestart, handled: true };
      }
      crash.onRestart(n, crash.budget.max);
      return { action: CloseAction.Restart, handled: true };
    },
  };
}
