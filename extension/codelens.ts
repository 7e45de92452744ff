import * as vscode from 'vscode';
import { PROJECT_SELECTOR } from './client';

/**
 * Align | Render | Preview above the first line of every project file. The daemon offers no
 * CodeLens (they are editor glue: each is just a command on this document), so they live here.
 * Hidden in Restricted Mode, where none of the three may run.
 */
class ProjectLenses implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.isTrusted) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const lens = (title: string, command: string, tooltip: string) => new vscode.CodeLens(top, { title, command, arguments: [doc.uri], tooltip });
    return [
      lens('$(play) Align', 'vidkompy.align', 'Align fg inside bg in space and time (vidkompy: Align)'),
      lens('$(device-camera-video) Render', 'vidkompy.render', 'Render fg over bg (vidkompy: Render)'),
      lens('$(graph-line) Preview', 'vidkompy.openPreview', 'Open the drift preview beside the editor (vidkompy: Open Preview)'),
    ];
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export function registerCodeLenses(): vscode.Disposable {
  const provider = new ProjectLenses();
  return vscode.Disposable.from(
    provider,
    vscode.languages.registerCodeLensProvider(PROJECT_SELECTOR as vscode.DocumentSelector, provider),
    vscode.workspace.onDidGrantWorkspaceTrust(() => provider.refresh()),
  );
}
