import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runTests } from '@vscode/test-electron';
import { sampleWorkspace } from '../support/vscodeWorkspace';
import { buildVscodeTests, ROOT } from './build';
import { REPORT_ENV } from './sample';

/**
 * The in-VS Code tests on desktop VS Code through @vscode/test-electron:
 *   VSCODE_EXECUTABLE_PATH=/path/to/code node --import tsx test/vscode/runTest.ts
 * Without VSCODE_EXECUTABLE_PATH it downloads a VS Code build (machines with internet only; here,
 * test/extension.test.ts runs the same tests in VS Code's server instead).
 */

async function main(): Promise<void> {
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed');
  const extensionTestsPath = await buildVscodeTests();
  const ws = await sampleWorkspace('electron');
  const report = path.join(ws.folder, 'report.json');
  await runTests({
    vscodeExecutablePath: process.env.VSCODE_EXECUTABLE_PATH || undefined,
    version: process.env.VSCODE_VERSION || undefined,
    extensionDevelopmentPath: ROOT,
    extensionTestsPath,
    extensionTestsEnv: { [REPORT_ENV]: report },
    launchArgs: [ws.folder, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
  console.log(`report: ${report}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
