/**
 * The extension's tests inside a real VS Code: the extension host loads the extension under
 * development and calls this module's `run()` with the real `vscode` API. Two launchers use it:
 * `@vscode/test-electron` (test/vscode/runTest.ts, desktop VS Code) and test/extension.test.ts
 * (VS Code's server with the smoke-test driver, in Chromium). Either way `run()` writes a JSON
 * report for the launcher to read, and rejects when a test failed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import { extensionSuite } from './extension.suite';
import { REPORT_ENV, REPORT_NAME } from './sample';

export interface TestReport {
  vscodeVersion: string;
  uiKind: 'desktop' | 'web';
  passed: { title: string; ms: number }[];
  failed: { title: string; error: string }[];
  pending: string[];
  durationMs: number;
}

function reportPath(): string {
  const fromEnv = process.env[REPORT_ENV];
  if (fromEnv) return fromEnv;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!folder) throw new Error(`no ${REPORT_ENV} and no workspace folder: nowhere to write the report`);
  return path.join(folder, REPORT_NAME);
}

export async function run(): Promise<void> {
  const started = Date.now();
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec' });
  // The bdd functions, on an object of their own rather than as globals.
  const t = {} as Mocha.MochaGlobals;
  mocha.suite.emit('pre-require', t, 'extension.suite', mocha);
  extensionSuite(t);

  const report: TestReport = {
    vscodeVersion: vscode.version,
    uiKind: vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop',
    passed: [],
    failed: [],
    pending: [],
    durationMs: 0,
  };
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', (test) => report.passed.push({ title: test.fullTitle(), ms: test.duration ?? 0 }));
    runner.on('fail', (test, err: Error) => report.failed.push({ title: test.fullTitle(), error: err?.stack ?? String(err) }));
    runner.on('pending', (test) => report.pending.push(test.fullTitle()));
  });
  report.durationMs = Date.now() - started;
  const file = reportPath();
  // Written whole and renamed: the launcher polls for the file and must never read half of it.
  await fs.writeFile(`${file}.partial`, JSON.stringify(report, null, 2));
  await fs.rename(`${file}.partial`, file);
  if (report.failed.length) throw new Error(`${report.failed.length} extension test(s) failed: ${report.failed.map((f) => f.title).join('; ')}`);
}
