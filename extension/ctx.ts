import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, State, type LanguageClient } from 'vscode-languageclient/node';
import { coarseMapNotification, statusNotification, statusRequest, trustNotification, type CoarseMap, type Status } from '../protocol/lsp';
import { SETTINGS_SECTION } from '../protocol/settings';
import { createClient, RestartBudget } from './client';
import { daemonSettings, onConfigChange, readConfig, type Config } from './config';
import { notify } from './notify';

/**
 * The extension's live state, in one place: the language client (the daemon), what the daemon last
 * reported, the settings, and everything to dispose. Commands, the status bar and the previews read
 * it and listen to its events; only this file starts and stops the client.
 */

export type DaemonState = 'stopped' | 'starting' | 'ready' | 'restarting' | 'crashed';

export class Ctx implements vscode.Disposable {
  client: LanguageClient | undefined;
  state: DaemonState = 'stopped';
  /** The daemon's latest `vidkompy/status`: jobs, execution provider, kernels. */
  status: Status | null = null;
  /** Why the daemon is not running, when it crashed or failed to start. */
  problem: string | undefined;
  /**
   * The coarse map of each align still running (`vidkompy/coarseMap`), by the project's URI as the
   * daemon spells it (the jobs' `project`); dropped when the job ends.
   */
  readonly coarse = new Map<string, CoarseMap>();
  config: Config = readConfig();
  readonly log: vscode.LogOutputChannel;
  readonly subscriptions: vscode.Disposable[] = [];

  private readonly stateEmitter = new vscode.EventEmitter<DaemonState>();
  private readonly statusEmitter = new vscode.EventEmitter<Status>();
  private readonly coarseEmitter = new vscode.EventEmitter<CoarseMap>();
  /** The daemon started, stopped, crashed or is being restarted. */
  readonly onDidChangeState = this.stateEmitter.event;
  /** A `vidkompy/status` notification (or the first status after a start). */
  readonly onDidReceiveStatus = this.statusEmitter.event;
  /** A running align's first whole map (provisional: the job's end brings the result). */
  readonly onDidReceiveCoarseMap = this.coarseEmitter.event;

  private readonly budget = new RestartBudget(5, 3 * 60_000);
  private starting: Promise<LanguageClient> | undefined;
  private stopping = false;
  private clientSubscriptions: vscode.Disposable[] = [];

  constructor(readonly extension: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('vidkompy', { log: true });
    this.subscriptions.push(
      this.log,
      this.stateEmitter,
      this.statusEmitter,
      this.coarseEmitter,
      onConfigChange((c) => this.pushConfig(c)),
      // A starting client sends the trust in initializationOptions; a running one is told here.
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        const client = this.client;
        if (client?.state !== State.Running) return;
        void client.sendNotification(trustNotification, { trusted: true }).catch((e: unknown) => this.log.warn(`pushing workspace trust: ${e}`));
      }),
    );
  }

  get development(): boolean {
    return this.extension.extensionMode === vscode.ExtensionMode.Development;
  }

  /** The settings as the daemon gets them (defaults filled in). */
  settings(): Config {
    return daemonSettings(this.config, this.extension.globalStorageUri);
  }

  /** The running client; starts the daemon if needed. Rejects with a readable reason when it cannot run. */
  async ready(): Promise<LanguageClient> {
    if (this.client?.state === State.Running) return this.client;
    if (this.starting) return this.starting;
    if (this.state === 'restarting' && this.client) return this.waitRunning(this.client);
    return this.start();
  }

  start(): Promise<LanguageClient> {
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async doStart(): Promise<LanguageClient> {
    await this.disposeClient();
    this.problem = undefined;
    if (this.state !== 'restarting') this.setState('starting');
    // Set when the client's own error handler has just decided to restart it: the Stopped
    // state that follows is that restart under way, not a stop to recover from.
    let clientRestarts = false;
    // A client that never ran failed to start: doStart reports that itself.
    let ran = false;
    const deps = {
      extensionUri: this.extension.extensionUri,
      log: this.log,
      settings: () => this.settings(),
      trusted: () => vscode.workspace.isTrusted,
      development: this.development,
    };
    const client = createClient(deps, {
      onRestart: (count, max) => {
        clientRestarts = true;
        this.restarting(count, max);
      },
      onGiveUp: (max) => this.giveUp(max),
      budget: this.budget,
    });
    this.client = client;
    this.clientSubscriptions = [
      client.onDidChangeState((e) => {
        if (e.newState === State.Running) {
          ran = true;
          this.setState('ready');
          void this.refreshStatus();
        } else if (e.newState === State.Starting) {
          if (this.state !== 'restarting') this.setState('starting');
        } else if (e.newState === State.Stopped && !this.stopping && this.state !== 'crashed') {
          if (clientRestarts) clientRestarts = false;
          // Stopped with no restart coming (the connection was shut down after errors, or the
          // client's own restart failed): the same bounded restart, with a fresh client.
          else if (ran) this.recover();
        }
      }),
      client.onNotification(statusNotification, (s) => this.setStatus(s)),
      client.onNotification(coarseMapNotification, (m) => {
        this.coarse.set(m.view.project, m);
        this.coarseEmitter.fire(m);
      }),
    ];
    try {
      await client.start();
    } catch (e) {
      this.problem = `the daemon did not start: ${(e as Error)?.message ?? e}`;
      this.log.error(this.problem);
      this.setState('crashed');
      throw new Error(this.problem, { cause: e });
    }
    return client;
  }

  private restarting(count: number, max: number): void {
    this.setState('restarting');
    this.log.warn(`the daemon stopped unexpectedly; restarting it (${count} of ${max} restarts allowed in 3 minutes)`);
    void notify('warning', `vidkompy: the daemon stopped unexpectedly and was restarted (${count} of ${max}).`, 'Show Log').then((pick) => {
      if (pick) this.log.show();
    });
  }

  private giveUp(max: number): void {
    this.problem = `the daemon crashed ${max + 1} times in 3 minutes`;
    this.setState('crashed');
    void notify('error', `vidkompy: ${this.problem} and will not be restarted.`, 'Restart Daemon', 'Show Log').then((pick) => {
      if (pick === 'Restart Daemon') void this.restart();
      else if (pick) this.log.show();
    });
  }

  /** The client stopped on its own: restart within the budget, else give up and say so. */
  private recover(): void {
    const n = this.budget.take();
    if (n === undefined) return this.giveUp(this.budget.max);
    this.restarting(n, this.budget.max);
    this.start().catch((e: unknown) => this.log.error(`restarting the daemon: ${(e as Error)?.message ?? e}`));
  }

  async stop(): Promise<void> {
    await this.disposeClient();
    this.setState('stopped');
  }

  /** Restarts the daemon on the user's request: the crash budget starts afresh. */
  async restart(): Promise<LanguageClient> {
    this.budget.reset();
    this.status = null;
    return this.start();
  }

  private async disposeClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const d of this.clientSubscriptions) d.dispose();
    this.clientSubscriptions = [];
    if (!client) return;
    this.stopping = true;
    try {
      if (client.state !== State.Stopped) await client.stop(5000).catch((e: unknown) => this.log.warn(`stopping the daemon: ${e}`));
      await client.dispose().catch(() => undefined);
    } finally {
      this.stopping = false;
    }
  }

  /** Resolves when `client` runs again after a crash (or rejects when it gives up). */
  private waitRunning(client: LanguageClient): Promise<LanguageClient> {
    return new Promise((resolve, reject) => {
      const sub = this.onDidChangeState((s) => {
        if (s === 'ready') resolve(client);
        else if (s === 'crashed' || s === 'stopped') reject(new Error(this.problem ?? 'the daemon stopped'));
        else return;
        sub.dispose();
      });
    });
  }

  private pushConfig(config: Config): void {
    this.config = config;
    const client = this.client;
    if (client?.state !== State.Running) return; // a starting client sends them in initializationOptions
    void client
      .sendNotification(DidChangeConfigurationNotification.type, { settings: { [SETTINGS_SECTION]: this.settings() } })
      .catch((e: unknown) => this.log.warn(`pushing settings: ${e}`));
  }

  private async refreshStatus(): Promise<void> {
    try {
      const client = this.client;
      if (client) this.setStatus(await client.sendRequest(statusRequest));
    } catch (e) {
      this.log.warn(`vidkompy/status: ${e}`);
    }
  }

  private setState(s: DaemonState): void {
    if (s === this.state) return;
    this.state = s;
    this.log.info(`daemon: ${s}`);
    this.stateEmitter.fire(s);
  }

  private setStatus(s: Status): void {
    this.status = s;
    const running = new Set(s.jobs.filter((j) => j.kind === 'align' && (j.state === 'running' || j.state === 'queued')).map((j) => j.project));
    for (const project of [...this.coarse.keys()]) if (!running.has(project)) this.coarse.delete(project);
    this.statusEmitter.fire(s);
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
