import * as path from 'node:path';
import * as vscode from 'vscode';
import { probeRequest, type VideoInfo } from '../protocol/lsp';
import type { Ctx } from './ctx';
import { errorMessage } from './errors';
import { notify } from './notify';
import { alignmentOf, PROJECT_SUFFIX, projectTemplate, relativePath, VIDEO_GLOB } from './project';

/**
 * New Project: pick bg and fg among the workspace's videos, name it, and get `NAME.vidkompy.json`
 * in the workspace folder, opened. The pickers say what each video is (duration, picture size,
 * frame rate, file size) as the daemon's probes come in: the extension itself reads no video.
 */

export interface NewProjectArgs {
  /** Skip the prompts (tests, other extensions): the folder, the two videos and the name. */
  folder?: vscode.Uri;
  bg?: vscode.Uri;
  fg?: vscode.Uri;
  name?: string;
}

/** Probes at once: enough to fill a screenful quickly without queueing a thousand ffprobes. */
const PROBES_AT_ONCE = 4;
/** How often the list is redrawn while probes come in. */
const REDRAW_MS = 100;

export interface VideoItem extends vscode.QuickPickItem {
  uri: vscode.Uri;
}

/** `1:02.5` (or `1:02:03` past an hour). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}:${String(m).padStart(2, '0')}:${String(Math.floor(s)).padStart(2, '0')}`;
  return `${m}:${s.toFixed(1).padStart(4, '0')}`;
}

/** `14.2 MB`, `880 KB` (decimal units, as file managers show them). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} bytes` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** What a picker says of a probed video: `0:02.0 · 352×224 · 30 fps · 880 KB`. */
export function describeVideo(v: VideoInfo): string {
  const fps = Number.isInteger(v.fps) ? String(v.fps) : v.fps.toFixed(2).replace(/0+$/, '');
  return [formatDuration(v.duration), `${v.width}×${v.height}`, `${fps} fps${v.vfr ? ' (variable)' : ''}`, ...(v.bytes !== undefined ? [formatBytes(v.bytes)] : [])].join(' · ');
}

/**
 * The probes of the pickers, shared by both steps (fg's picker reuses what bg's found), asked of the
 * daemon a few at a time in the order the list shows them.
 */
class Probes {
  private readonly found = new Map<string, string>();
  private readonly asked = new Set<string>();
  private readonly waiting: vscode.Uri[] = [];
  private active = 0;
  private stopped = false;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly ctx: Ctx) {}

  /** The line for `uri`: its probe's summary, why it has none, or undefined while it is on its way. */
  detail(uri: vscode.Uri): string | undefined {
    return this.found.get(uri.toString());
  }

  want(uris: vscode.Uri[]): void {
    for (const u of uris) {
      if (this.asked.has(u.toString())) continue;
      this.asked.add(u.toString());
      this.waiting.push(u);
    }
    this.pump();
  }

  get busy(): boolean {
    return this.active > 0 || this.waiting.length > 0;
  }

  private pump(): void {
    while (!this.stopped && this.active < PROBES_AT_ONCE && this.waiting.length) {
      const uri = this.waiting.shift()!;
      this.active++;
      void this.probe(uri).finally(() => {
        this.active--;
        if (this.stopped) return;
        this.changed.fire();
        this.pump();
      });
    }
  }

  private async probe(uri: vscode.Uri): Promise<void> {
    try {
      const client = await this.ctx.ready();
      this.found.set(uri.toString(), describeVideo(await client.sendRequest(probeRequest, { uri: uri.toString() })));
    } catch (e) {
      this.found.set(uri.toString(), `not readable as a video: ${errorMessage(e)}`);
    }
  }

  /** Stops asking (the pickers are gone); answers on their way are dropped. */
  stop(): void {
    this.stopped = true;
    this.waiting.length = 0;
    this.changed.dispose();
  }
}

export async function newProject(ctx: Ctx, args: NewProjectArgs): Promise<vscode.Uri | undefined> {
  const folder = args.folder ?? (await pickFolder());
  if (!folder) return undefined;
  const videos = args.bg && args.fg ? [] : await vscode.workspace.findFiles(new vscode.RelativePattern(folder, VIDEO_GLOB), '**/{node_modules,.git}/**', 2000);
  if (!(args.bg && args.fg) && videos.length < 2) {
    void notify('error', `vidkompy: a project needs two videos (bg and fg) in ${folder.fsPath}; found ${videos.length}.`);
    return undefined;
  }
  videos.sort((a, b) => a.path.localeCompare(b.path));
  // In Restricted Mode the daemon probes nothing: the pickers list names only.
  const probes = vscode.workspace.isTrusted ? new Probes(ctx) : undefined;
  try {
    const bg = args.bg ?? (await pickVideo(folder, videos, probes, { step: 1, which: 'background video (bg)', hint: 'The larger picture that fg is placed inside' }));
    if (!bg) return undefined;
    const fg = args.fg ?? (await pickVideo(folder, videos, probes, { step: 2, which: 'foreground video (fg)', hint: 'The better source: every fg frame is kept', not: bg }));
    if (!fg) return undefined;
    return await nameAndWrite(ctx, folder, bg, fg, args.name);
  } finally {
    probes?.stop();
  }
}

/** One picker: the videos, each described as its probe arrives; the pick, or undefined when dismissed. */
function pickVideo(
  folder: vscode.Uri,
  videos: vscode.Uri[],
  probes: Probes | undefined,
  o: { step: number; which: string; hint: string; not?: vscode.Uri },
): Promise<vscode.Uri | undefined> {
  const uris = videos.filter((v) => v.toString() !== o.not?.toString());
  const qp = vscode.window.createQuickPick<VideoItem>();
  qp.title = `New vidkompy project (${o.step}/3): ${o.which}`;
  qp.placeholder = o.hint;
  qp.matchOnDescription = true;
  qp.matchOnDetail = true;
  qp.ignoreFocusOut = true;
  qp.keepScrollPosition = true;
  const items = () =>
    uris.map((uri): VideoItem => {
      const dir = path.posix.dirname(relativePath(folder, uri)).replace(/^\.$/, '');
      return { label: path.posix.basename(uri.path), description: dir, detail: probes ? (probes.detail(uri) ?? 'probing…') : undefined, uri };
    });
  let timer: NodeJS.Timeout | undefined;
  const redraw = () => {
    timer = undefined;
    const active = qp.activeItems[0]?.uri.toString();
    qp.items = items();
    const keep = qp.items.find((i) => i.uri.toString() === active);
    if (keep) qp.activeItems = [keep];
    qp.busy = !!probes?.busy;
  };
  qp.items = items();
  qp.busy = !!probes?.busy;
  const sub = probes?.onDidChange(() => (timer ??= setTimeout(redraw, REDRAW_MS)));
  probes?.want(uris);
  return new Promise((resolve) => {
    let picked: vscode.Uri | undefined;
    qp.onDidAccept(() => {
      picked = qp.selectedItems[0]?.uri;
      qp.hide();
    });
    qp.onDidHide(() => {
      clearTimeout(timer);
      sub?.dispose();
      qp.dispose();
      resolve(picked);
    });
    qp.show();
  });
}

async function nameAndWrite(ctx: Ctx, folder: vscode.Uri, bg: vscode.Uri, fg: vscode.Uri, given?: string): Promise<vscode.Uri | undefined> {
  const exists = async (name: string) => {
    try {
      await vscode.workspace.fs.stat(vscode.Uri.joinPath(folder, name + PROJECT_SUFFIX));
      return true;
    } catch {
      return false;
    }
  };
  const suggested = path.posix.basename(fg.path).replace(/\.[^.]+$/, '');
  const name =
    given ??
    (await vscode.window.showInputBox({
      title: 'New vidkompy project (3/3): name',
      prompt: `The project is saved as NAME${PROJECT_SUFFIX} in ${path.basename(folder.fsPath)}`,
      value: suggested,
      ignoreFocusOut: true,
      validateInput: async (v) => {
        if (!v.trim()) return 'A name is needed';
        if (/[\\/:*?"<>|]/.test(v)) return 'A file name cannot contain \\ / : * ? " < > |';
        return (await exists(v.trim())) ? `${v.trim()}${PROJECT_SUFFIX} already exists` : undefined;
      },
    }));
  if (!name) return undefined;
  const file = vscode.Uri.joinPath(folder, name.trim() + PROJECT_SUFFIX);
  if (await exists(name.trim())) {
    void notify('error', `vidkompy: ${path.basename(file.fsPath)} already exists; choose another name.`);
    return undefined;
  }
  await vscode.workspace.fs.writeFile(file, Buffer.from(projectTemplate(relativePath(folder, bg), relativePath(folder, fg), ctx.config.defaultEngine), 'utf8'));
  await vscode.window.showTextDocument(file, { preview: false });
  ctx.log.info(`new project ${file.fsPath} (alignment will go to ${path.basename(alignmentOf(file).fsPath)})`);
  return file;
}

async function pickFolder(): Promise<vscode.Uri | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 1) return folders[0].uri;
  if (!folders.length) {
    void notify('error', 'vidkompy: open a folder with your videos first; the project is saved in it.');
    return undefined;
  }
  return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Where to save the new project' }))?.uri;
}
