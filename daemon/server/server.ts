import { promises as fs, writeSync } from 'node:fs';
import path from 'node:path';
import {
  CodeActionKind,
  createConnection,
  LSPErrorCodes,
  MessageType,
  ShowMessageNotification,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type CodeAction,
  type Connection,
  type InitializeResult,
  type ProgressToken,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import { setNoteSink } from '../core/notes';
import { setThreadBudget, setTools, threadBudget, tools } from '../media/tools';
import { loadProject, readProject, savedAlignment } from '../project/jobs';
import { createJobRunner, type JobOptions } from './jobRunner';
import { VidkompyError } from '../core/errors';
import { kernelsBackend } from '../native/kernels';
import { cachedProbe, setHashCacheDirectory } from '../project/filecache';
import { rangeMapper } from '../project/check';
import { parseJson } from '../project/jsonTree';
import { isProjectFile } from '../project/project';
import {
  alignRequest,
  batchRequest,
  cancelRequest,
  environmentRequest,
  liveAlignRequest,
  frameRequest,
  probeRequest,
  PROTOCOL_VERSION,
  renderRequest,
  resultRequest,
  statusNotification,
  coarseMapNotification,
  type CoarseMap,
  statusRequest,
  trustNotification,
  type AlignResult,
  type InitializationOptions,
  type Job,
  type LiveAlignResult,
  type Status,
} from '../../protocol/lsp';
import { PROJECT_SUFFIX } from '../../protocol/project';
import { discoverProjects } from '../batch/discover';
import { readProjectText } from '../project/check';
import type { ResolvedProject } from '../project/project';
import type { FirstMap } from '../engine';
import { runBatch } from './batch';
import { environment } from './environment';
import { liveDecision } from './live';
import { fixPathActions, fixTypoActions, setValueEdits, SPATIAL_TITLE, spatialWith, wantsSpatial, type SpatialActionData } from './codeActions';
import { complete } from './completion';
import { badParams, toResponseError } from './errors';
import { hover } from './hover';
import { createJobQueue } from './jobQueue';
import { alignFraction, STAGE_LABEL, startProgress } from './progress';
import { DEFAULT_SETTINGS, readSettings, SETTINGS_SECTION, type Settings } from './settings';
import { pathToUri, uriToPath } from './uri';
import { watchFraming } from './framing';
import { createValidator } from './validation';
import { alignmentView, coarseView, previewableAlignment, previewFrame, toVideoInfo } from './view';
import { VERSION } from '../version';

/**
 * The vidkompy daemon: a language server for `*.vidkompy.json` projects that also owns the heavy
 * work (align, render, previews) behind the custom requests of protocol/lsp.ts. It speaks only
 * LSP on its streams and logs to the client's console; a failing request gets an error reply and
 * the daemon carries on.
 */

export const STDIO_USAGE = 'the vidkompy daemon speaks LSP over stdio only: start it with --stdio (editors do this for you)';

/**
 * Starts the daemon on stdin/stdout; the caller has checked that `--stdio` is among the process's
 * arguments. The library then takes its transport from the command line, which also sends any
 * stray console output to the client's log instead of the protocol stream, ends the process when
 * stdin closes, and watches the editor's `--clientProcessId`. A broken frame on stdin ends it too,
 * with status 1 (see framing.ts), rather than leaving it alive and deaf.
 */
export function startServer(): Connection {
  const connection = createConnection(ProposedFeatures.all);
  const documents = new TextDocuments(TextDocument);
  const log = (s: string) => connection.console.log(s);
  setNoteSink(log);
  let settings: Settings = DEFAULT_SETTINGS;
  let roots: string[] = [];
  let canCreateProgress = false;
  let canResolveActions = false;
  /** The ONNX execution provider of the last alignment that ran one. */
  let provider: Status['provider'] = 'cpu';
  /**
   * False in VS Code's Restricted Mode: a project from an untrusted source must not get its files
   * fed to ffprobe/ffmpeg (decoders are attack surface), so no probe, preview, align or render runs.
   */
  let trusted = true;
  const requireTrust = (what: string) => {
    if (trusted) return;
    const why = `${what}: this workspace is not trusted (Restricted Mode) and vidkompy decodes no media in it; trust the workspace to let it read the videos`;
    throw new VidkompyError('UNTRUSTED', why);
  };

  const projectDoc = (uri: string) => {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    const file = fileOf(uri);
    return file && isProjectFile(file) ? { doc, file } : undefined;
  };
  /** The editor's document of a project, when it has the file open. */
  const openDoc = (file: string) => documents.all().find((d) => fileOf(d.uri) === file);
  /** The editor's text of a project, when it has the file open (unsaved edits included). */
  const openText = (file: string) => openDoc(file)?.getText();
  const rootsFor = (file: string) => {
    const dir = path.dirname(file);
    return [dir, ...roots.filter((r) => dir.startsWith(r + path.sep) || dir === r)];
  };

  // Status: every job change goes out, progress at most every STATUS_MS.
  const STATUS_MS = 200;
  const lastState = new Map<number, Job['state']>();
  let lastSent = 0;
  let timer: NodeJS.Timeout | undefined;
  const status = (): Status => ({ version: VERSION, protocol: PROTOCOL_VERSION, provider, kernels: kernelsBackend(), jobs: queue.list() });
  const sendStatus = () => {
    clearTimeout(timer);
    timer = undefined;
    lastSent = Date.now();
    // By method name: the protocol objects come from the client-side copy of vscode-jsonrpc.
    void connection.sendNotification(statusNotification.method, status()).catch(() => undefined);
  };
  const queue = createJobQueue((job) => {
    const changed = lastState.get(job.id) !== job.state;
    lastState.set(job.id, job.state);
    if (changed || Date.now() - lastSent >= STATUS_MS) sendStatus();
    else timer ??= setTimeout(sendStatus, STATUS_MS - (Date.now() - lastSent));
  });
  const jobs = createJobRunner(
    () => ({ ...tools(), threads: threadBudget(), hashCacheDirectory: settings.cacheDirectory, embedCacheDirectory: settings.cacheDirectory || undefined }),
    log,
  );

  // The daemon is the one voice on project files: it sends every finding, schema and syntax too
  // (the extension contributes no jsonValidation for them), whatever a client claims to validate.
  const validator = createValidator(
    (uri, version, diagnostics) => void connection.sendDiagnostics({ uri, version, diagnostics }),
    log,
    () => trusted,
  );
  const validate = (doc: TextDocument) => {
    const file = fileOf(doc.uri);
    if (file && isProjectFile(file)) validator.validate(doc, file).catch((e: unknown) => log(`validating ${file}: ${(e as Error)?.stack ?? e}`));
  };
  const revalidateAll = () => documents.all().forEach(validate);
  // A bug in a background task is logged, never the end of the daemon the editor relies on.
  process.on('unhandledRejection', (e) => log(`vidkompy: unhandled rejection: ${(e as Error)?.stack ?? e}`));

  // The editor's "threads" (0: all) over the budget this process started with (VIDKOMPY_THREADS).
  const startThreads = threadBudget();
  const applySettings = async (raw: unknown) => {
    settings = readSettings(raw, settings);
    setTools({ ffmpeg: settings.ffmpegPath, ffprobe: settings.ffprobePath });
    setThreadBudget(settings.threads || startThreads);
    setHashCacheDirectory(settings.cacheDirectory);
    revalidateAll();
  };

  /** Registers a custom request: params checked by the handler, every failure an error reply. */
  function handle<P, R>(type: RequestType<P, R, void> | RequestType0<R, void>, fn: (params: P, signal: AbortSignal) => Promise<R>): void {
    // jsonrpc passes (params, token), or only (token) when the request has no params.
    connection.onRequest(type.method, async (...args: unknown[]) => {
      const token = args[args.length - 1] as CancellationToken;
      const params = (args.length > 1 ? args[0] : undefined) as P;
      const controller = new AbortController();
      const sub = token.onCancellationRequested(() => controller.abort());
      try {
        return await fn(params, controller.signal);
      } catch (e) {
        throw toResponseError(e, log);
      } finally {
        sub.dispose();
      }
    });
  }

  const projectParam = (params: unknown, method: string) => uriToPath((params as { project?: unknown } | null)?.project, `${method}: params.project`);

  connection.onInitialize((params): InitializeResult => {
    canCreateProgress = params.capabilities.window?.workDoneProgress === true;
    canResolveActions = params.capabilities.textDocument?.codeAction?.resolveSupport?.properties.includes('edit') === true;
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    roots = folders.flatMap((u) => fileOf(u) ?? []);
    const init = params.initializationOptions as InitializationOptions | undefined;
    // Only an explicit false restricts: clients that know no trust (the CLI's tests, other editors) are trusted.
    trusted = init?.trusted !== false;
    if (init?.settings) void applySettings(init.settings);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        completionProvider: { triggerCharacters: ['"', '/'] },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite], resolveProvider: true },
        experimental: { vidkompy: { protocol: PROTOCOL_VERSION } },
      },
      serverInfo: { name: 'vidkompy', version: VERSION },
    };
  });

  connection.onDidChangeConfiguration(
    (p) => void applySettings((p.settings as Record<string, unknown> | null)?.[SETTINGS_SECTION]).catch((e) => log(`settings: ${e}`)),
  );

  connection.onNotification(trustNotification.method, (p: { trusted?: unknown } | null) => {
    trusted = p?.trusted === true;
    revalidateAll();
  });

  documents.onDidChangeContent(({ document }) => validate(document));
  documents.onDidClose(({ document }) => {
    validator.forget(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });

  connection.onHover(async (params) => {
    const open = projectDoc(params.textDocument.uri);
    if (!open) return null;
    const text = open.doc.getText();
    return hover(parseJson(text), open.file, open.doc.offsetAt(params.position), rangeMapper(text), trusted).catch((e) => {
      log(`hover: ${(e as Error)?.stack ?? e}`);
      return null;
    });
  });

  connection.onCompletion(async (params) => {
    const open = projectDoc(params.textDocument.uri);
    if (!open) return [];
    const text = open.doc.getText();
    return complete({
      parsed: parseJson(text),
      projectFile: open.file,
      offset: open.doc.offsetAt(params.position),
      roots: rootsFor(open.file),
      range: rangeMapper(text),
    });
  });

  connection.onCodeAction(async (params) => {
    const open = projectDoc(params.textDocument.uri);
    if (!open) return [];
    const text = open.doc.getText();
    const parsed = parseJson(text);
    const wanted = (kind: string) => !params.context.only || params.context.only.some((k) => kind === k || kind.startsWith(k + '.'));
    const actions: CodeAction[] = [];
    if (wanted(CodeActionKind.QuickFix)) {
      actions.push(...fixTypoActions(parsed, params.context.diagnostics, rangeMapper(text), (p) => open.doc.offsetAt(p), params.textDocument.uri));
      actions.push(...(await fixPathActions(parsed, open.file, params.context.diagnostics, rootsFor(open.file), rangeMapper(text), params.textDocument.uri)));
    }
    if (trusted && wanted(CodeActionKind.RefactorRewrite) && (await wantsSpatial(parsed, open.file, open.doc.offsetAt(params.range.start)))) {
      const data: SpatialActionData = { kind: 'spatial', uri: params.textDocument.uri };
      // The search takes seconds: only run it when the user picks the action (codeAction/resolve).
      if (canResolveActions) actions.push({ title: SPATIAL_TITLE, kind: CodeActionKind.RefactorRewrite, data });
    }
    return actions;
  });

  connection.onCodeActionResolve(async (action, token) => {
    const data = action.data as SpatialActionData | undefined;
    const open = data?.kind === 'spatial' ? projectDoc(data.uri) : undefined;
    if (!open) return action;
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    try {
      requireTrust('finding the spatial offset');
      const text = open.doc.getText();
      const parsed = parseJson(text);
      const p = await readProject(open.file, settings.defaultEngine, text);
      const placement = await jobs.detect(p, controller.signal);
      log(`vidkompy: spatial offset x=${placement.x} y=${placement.y} scale=${placement.scale} (from the ${placement.from}) for ${open.file}`);
      return { ...action, edit: { changes: { [data!.uri]: setValueEdits(parsed, ['spatial'], spatialWith(parsed, placement), rangeMapper(text)) } } };
    } catch (e) {
      // A failed resolve reply reaches the user as "Request codeAction/resolve failed … [object
      // Object]": the action comes back without an edit instead, and the reason is said in words.
      const why = toResponseError(e, log);
      // A notification, not showErrorMessage's request: nothing waits on an answer the user may never give.
      const message = `vidkompy: the spatial offset could not be found: ${why.message}`;
      if (why.code !== LSPErrorCodes.RequestCancelled) {
        void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Error, message }).catch(() => undefined);
      }
      return action;
    } finally {
      sub.dispose();
    }
  });

  handle(probeRequest, async (params) => {
    requireTrust('reading the video');
    const file = uriToPath((params as { uri?: unknown } | null)?.uri, 'vidkompy/probe: params.uri');
    const [info, st] = await Promise.all([cachedProbe(file), fs.stat(file)]);
    return { ...toVideoInfo(info), bytes: st.size };
  });

  /** A heavy job: which, on what (a project file, or a batch's first folder), and where its progress goes. */
  interface JobSpec {
    kind: Job['kind'];
    file: string;
    title: string;
    /** The request's work-done token; none: a progress the daemon asks the client to create. */
    token: ProgressToken | undefined;
    signal: AbortSignal;
    /** No progress of its own (a live re-alignment): the status bar shows it, nothing pops up. */
    quiet?: boolean;
    live?: boolean;
    /** Runs beside the queue: the work is done elsewhere (a batch on a job queue). */
    beside?: boolean;
  }

  /**
   * A heavy job: queued, with work-done progress whose cancel button cancels it. `run` gets what
   * every job passes to the worker (the queue's signal and fate word) and a progress reporter.
   */
  type Report = (fraction: number, stage: string, label: string) => void;
  const queuedJob = async <T>(spec: JobSpec, run: (o: JobOptions, report: Report) => Promise<T>): Promise<T> => {
    const uri = pathToUri(spec.file);
    const cancel = () => queue.cancel(uri);
    const progress = spec.quiet ? { report() {}, done() {} } : await startProgress(connection, spec.title, spec.token, canCreateProgress, cancel);
    try {
      return await queue.submit(
        spec.kind,
        uri,
        (sig, setJob, state) =>
          run({ signal: sig, state }, (fraction, stage, label) => {
            setJob(fraction, stage);
            progress.report(fraction, label);
          }),
        spec.signal,
        { live: spec.live, beside: spec.beside },
      );
    } finally {
      progress.done();
    }
  };

  /** Aligns a checked project (or reuses its fresh alignment): the reply of vidkompy/align and vidkompy/liveAlign. */
  const alignJob = async (p: ResolvedProject, spec: Omit<JobSpec, 'kind' | 'file' | 'title'>): Promise<AlignResult> => {
    const fraction = alignFraction();
    const title = `vidkompy: aligning ${path.basename(p.file)}`;
    const started = performance.now();
    // The first whole map, long before refinement ends: the editor shows it as provisional.
    // The job ends only once its coarse map is out, so the map never arrives after the final result.
    let sent: Promise<void> = Promise.resolve();
    const onFirstMap = (map: FirstMap) => {
      const seconds = Math.round(performance.now() - started) / 1000;
      sent = coarseView(p, pathToUri(p.file), map).then(
        (view) => void connection.sendNotification(coarseMapNotification.method, { view, seconds } satisfies CoarseMap).catch(() => undefined),
        (e: unknown) => log(`coarse map of ${p.file}: ${(e as Error)?.message ?? e}`),
      );
    };
    const outcome = await queuedJob({ ...spec, kind: 'align', file: p.file, title }, (o, report) =>
      jobs
        .align(p, {
          ...o,
          onProgress: (stage, f) => report(fraction(stage, f), stage, STAGE_LABEL[stage]),
          onFirstMap: spec.quiet ? undefined : onFirstMap,
        })
        .finally(() => sent),
    );
    provider = outcome.provider ?? provider;
    const { spatial: s, temporal: t } = outcome.alignment;
    return {
      alignment: pathToUri(p.alignmentFile),
      spatial: { x: s.x, y: s.y, scale: s.scale, confidence: s.confidence },
      offsetSeconds: t.offsetSeconds,
      speed: t.speed,
      meanConfidence: t.meanConfidence,
      cached: outcome.cached,
    };
  };

  handle(alignRequest, async (params, signal) => {
    requireTrust('aligning');
    const file = projectParam(params, 'vidkompy/align');
    const p = await loadProject(file, settings.defaultEngine, openText(file));
    return alignJob(p, { token: params.workDoneToken, signal });
  });

  handle(liveAlignRequest, async (params, signal): Promise<LiveAlignResult> => {
    requireTrust('aligning');
    const file = projectParam(params, 'vidkompy/liveAlign');
    const version = (params as { version?: unknown } | null)?.version;
    if (!Number.isInteger(version)) throw badParams(`vidkompy/liveAlign: params.version must be the document's version, got ${JSON.stringify(version)}`);
    const doc = openDoc(file);
    const superseded = (): LiveAlignResult => ({ state: 'skipped', why: 'superseded', reason: 'a newer edit follows' });
    if (doc && doc.version > (version as number)) return superseded();
    const decision = await liveDecision(file, doc?.getText() ?? (await readProjectText(file)), settings.defaultEngine);
    if (decision.state !== 'align') return decision;
    if (doc && openDoc(file)!.version > (version as number)) return superseded();
    const started = performance.now();
    const result = await alignJob(decision.project, { token: undefined, signal, quiet: true, live: true });
    return { state: 'aligned', result, seconds: Math.round(performance.now() - started) / 1000 };
  });

  handle(renderRequest, async (params, signal) => {
    requireTrust('rendering');
    const file = projectParam(params, 'vidkompy/render');
    const p = await loadProject(file, settings.defaultEngine, openText(file));
    const title = `vidkompy: rendering ${path.basename(p.output)}`;
    const r = await queuedJob({ kind: 'render', file, title, token: params.workDoneToken, signal }, (o, report) =>
      jobs.render(p, { ...o, onProgress: (f) => report(f, 'rendering', 'rendering') }),
    );
    return { output: pathToUri(r.output), width: r.width, height: r.height, frames: r.frames, audio: r.audio };
  });

  handle(batchRequest, async (params, signal) => {
    requireTrust('running a batch');
    const raw = (params as { folders?: unknown } | null)?.folders;
    if (!Array.isArray(raw) || !raw.length) throw badParams('vidkompy/batch: params.folders must be a non-empty array of folder URIs');
    const folders = raw.map((u, i) => uriToPath(u, `vidkompy/batch: params.folders[${i}]`));
    const files = await discoverProjects(folders);
    if (!files.length) {
      const where = folders.map((f) => path.basename(f)).join(', ');
      throw new VidkompyError('ENOENT', `no *${PROJECT_SUFFIX} project in ${where}; make one with vidkompy: New Project`, folders[0]);
    }
    const title = `vidkompy: batch of ${files.length} project${files.length === 1 ? '' : 's'}${settings.queue ? ' on the job queue' : ''}`;
    // On a job queue the work is the workers': aligning here meanwhile need not wait for it.
    const spec = { kind: 'batch', file: folders[0], title, token: params.workDoneToken, signal, beside: !!settings.queue } as const;
    return queuedJob(spec, (o, report) =>
      runBatch(files, { queue: settings.queue, threads: settings.threads, signal: o.signal, onProgress: (f, message) => report(f, message, message) }),
    );
  });

  handle(environmentRequest, async () => environment(settings.cacheDirectory));

  handle(cancelRequest, async (params) => {
    const project = (params as { project?: unknown } | null)?.project;
    return { cancelled: queue.cancel(project === undefined ? undefined : pathToUri(uriToPath(project, 'vidkompy/cancel: params.project'))) };
  });

  handle(statusRequest, async () => status());

  handle(resultRequest, async (params) => {
    requireTrust('the preview');
    const file = projectParam(params, 'vidkompy/result');
    return alignmentView(await readProject(file, settings.defaultEngine, openText(file)), pathToUri(file));
  });

  handle(frameRequest, async (params, signal) => {
    requireTrust('the preview');
    const file = projectParam(params, 'vidkompy/frame');
    const p = await readProject(file, settings.defaultEngine, openText(file));
    return previewFrame(await previewableAlignment(await savedAlignment(p), p), params, signal);
  });

  connection.onShutdown(async () => {
    queue.cancel();
    await jobs.dispose();
  });

  documents.listen(connection);
  watchFraming(process.stdin, (why) => {
    // The library would now wait forever on a stream it has lost its place in. Said on stderr (the
    // client shows it in the daemon's log), synchronously: the process ends on the next line.
    writeSync(2, `vidkompy daemon: broken input framing: ${why}; exiting with status 1 so the client can restart the daemon\n`);
    process.exit(1);
  });
  connection.listen();
  return connection;
}

function fileOf(uri: string): string | undefined {
  try {
    return uri.startsWith('file:') ? uriToPath(uri, 'document') : undefined;
  } catch {
    return undefined;
  }
}
