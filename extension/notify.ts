import * as vscode from 'vscode';

/**
 * Every message the extension shows goes through here: one place that words them (each starts with
 * "vidkompy:"), keeps a short history of what was said (the test API's `notices()`), and can take
 * the last job's result message down when the next job of that project starts.
 */

export type Severity = 'info' | 'warning' | 'error';

export interface Notice {
  severity: Severity;
  message: string;
  actions: string[];
}

const KEEP = 500;
const said: Notice[] = [];
const SHOW: Record<Severity, (message: string, ...actions: string[]) => Thenable<string | undefined>> = {
  info: (m, ...a) => vscode.window.showInformationMessage(m, ...a),
  warning: (m, ...a) => vscode.window.showWarningMessage(m, ...a),
  error: (m, ...a) => vscode.window.showErrorMessage(m, ...a),
};

/** Shows `message` with `actions` as buttons; resolves with the button picked (undefined: dismissed). */
export function notify(severity: Severity, message: string, ...actions: string[]): Thenable<string | undefined> {
  said.push({ severity, message, actions });
  if (said.length > KEEP) said.shift();
  return SHOW[severity](message, ...actions);
}

/** What was shown since activation (at most the last KEEP), oldest first. */
export function notices(): Notice[] {
  return [...said];
}

/**
 * Result messages still up, by project: a new job of the same project hides them, so "aligned …
 * Render" is not left standing over the render's progress. VS Code has no way to close one message,
 * so the toasts are hidden (they stay in the notification centre); only while one of ours is up.
 */
const standing = new Map<string, number>();
/** Toasts of information hide themselves after a while; one older than this is gone already. */
const TOAST_LIFE_MS = 20_000;

/** A job's result message for `project`: taken down by `clearResult` when the next job starts. */
export function result(project: vscode.Uri, message: string, ...actions: string[]): Thenable<string | undefined> {
  const key = project.toString();
  const at = Date.now();
  standing.set(key, at);
  const shown = notify('info', message, ...actions);
  // Answered or dismissed: the toast is gone.
  void Promise.resolve(shown).finally(() => standing.get(key) === at && standing.delete(key));
  return shown;
}

/** Hides the standing result message of `project`, if one is still up. */
export function clearResult(project: vscode.Uri): void {
  const at = standing.get(project.toString());
  if (at === undefined) return;
  standing.delete(project.toString());
  if (Date.now() - at < TOAST_LIFE_MS) void vscode.commands.executeCommand('notifications.hideToasts');
}
