import * as vscode from 'vscode';
import { environmentRequest, type Environment, type Job, type Status } from '../protocol/lsp';
import { SETTINGS_SECTION } from '../protocol/settings';
import type { Ctx } from './ctx';

/**
 * The vidkompy log (vidkompy: Show Log), beyond what the daemon's own lines say: what it runs with,
 * once it is up (version, ffmpeg and ffprobe with their versions, the execution provider, the
 * kernels, the hardware codecs), and a line for each job as it starts and as it ends (kind,
 * project, how long, how it ended). The daemon knows the facts; this side only writes them down.
 */

export function environmentLines(env: Environment, extensionVersion: string): string[] {
  const threads = env.threads ? String(env.threads) : 'all';
  return [
    `vidkompy ${env.version} (extension ${extensionVersion}); the daemon runs on ${env.node}`,
    `ffmpeg: ${env.ffmpeg.path} (version ${env.ffmpeg.version})`,
    `ffprobe: ${env.ffprobe.path} (version ${env.ffprobe.version})`,
    `embedding provider: ${env.provider.name.toUpperCase()} (${env.provider.reason})`,
    `kernels: ${env.kernels.backend === 'native' ? 'native' : `TypeScript (${env.kernels.reason ?? 'native ones unavailable'})`}`,
    `hardware decoding: ${env.hardware.decoder} (${env.hardware.decoderReason})`,
    `hardware encoding: ${env.hardware.encoder} (${env.hardware.encoderReason})`,
    `threads per job: ${threads}; cache: ${env.cacheDirectory || 'memory only'}`,
  ];
}

const what = (j: Job) => `${j.kind}${j.live ? ' (after an edit)' : ''} ${vscode.Uri.parse(j.project).fsPath}`;

export function jobEndLine(j: Job): string {
  const took = j.seconds !== undefined ? ` after ${j.seconds.toFixed(2)} s` : '';
  switch (j.state) {
    case 'done':
      return `job ${j.id}: ${what(j)}: done in ${(j.seconds ?? 0).toFixed(2)} s`;
    case 'failed':
      return `job ${j.id}: ${what(j)}: ${j.code === 'UNSURE' ? 'refused' : 'failed'}${took}${j.code ? ` (${j.code})` : ''}: ${j.message ?? 'no reason given'}`;
    default:
      return `job ${j.id}: ${what(j)}: cancelled${took}`;
  }
}

export function registerLog(ctx: Ctx): vscode.Disposable {
  const version = String((ctx.extension.extension.packageJSON as { version?: unknown }).version ?? '?');
  /** Each job's state as last logged, so every start and end is written once. */
  let logged = new Map<number, Job['state']>();
  let asking = 0;
  const logEnvironment = async () => {
    const mine = ++asking;
    try {
      const client = await ctx.ready();
      const env = await client.sendRequest(environmentRequest);
      if (mine === asking) for (const l of environmentLines(env, version)) ctx.log.info(l);
    } catch (e) {
      ctx.log.warn(`vidkompy/environment: ${(e as Error)?.message ?? e}`);
    }
  };
  const onStatus = (s: Status) => {
    for (const j of s.jobs) {
      const before = logged.get(j.id);
      if (before === j.state) continue;
      logged.set(j.id, j.state);
      if (j.state === 'running') ctx.log.info(`job ${j.id}: ${what(j)}: started`);
      else if (j.state === 'done') ctx.log.info(jobEndLine(j));
      else if (j.state === 'failed') ctx.log.warn(jobEndLine(j));
      else if (j.state === 'cancelled') ctx.log.info(jobEndLine(j));
    }
  };
  let settingsTimer: NodeJS.Timeout | undefined;
  return vscode.Disposable.from(
    ctx.onDidChangeState((s) => {
      if (s !== 'ready') return;
      // A new daemon numbers its jobs from 1 again.
      logged = new Map();
      void logEnvironment();
    }),
    ctx.onDidReceiveStatus(onStatus),
    // New tool paths or threads: say what the daemon runs with now, once it has them.
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SETTINGS_SECTION) || ctx.state !== 'ready') return;
      clearTimeout(settingsTimer);
      settingsTimer = setTimeout(() => void logEnvironment(), 500);
    }),
    new vscode.Disposable(() => clearTimeout(settingsTimer)),
  );
}
