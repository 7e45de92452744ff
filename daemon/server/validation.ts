import { setTimeout as delay } from 'node:timers/promises';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { mediaCheckable, rangeMapper, sortDiagnostics, textDiagnostics } from '../project/check';
import type { ProjectDiagnostic } from '../project/diagnostics';
import { parseJson } from '../project/jsonTree';
import { cachedProbe } from '../project/filecache';
import { mediaDiagnostics } from '../project/mediaChecks';

/**
 * Validation of open project files. The text checks publish at once; the media checks (probes,
 * cached) are usually done within a few milliseconds and go out with them, and when a probe takes
 * longer the text findings go out first and the full list follows. A newer edit supersedes an
 * older validation still in flight. Nothing here waits on the job queue.
 */

/** How long the text findings wait for the media findings before going out alone. */
const MEDIA_GRACE_MS = 150;

const SEVERITY = { error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, information: DiagnosticSeverity.Information } as const;

export function toLspDiagnostics(text: string, ds: ProjectDiagnostic[]): Diagnostic[] {
  const range = rangeMapper(text);
  return ds.map((d) => ({ range: range(d), severity: SEVERITY[d.severity], code: d.code, source: 'vidkompy', message: d.message }));
}

export interface Validator {
  validate(doc: TextDocument, file: string): Promise<void>;
  forget(uri: string): void;
}

/**
 * `trusted` false (Restricted Mode): no decoder runs on workspace files, so the media checks that
 * probe are skipped; whether the named files exist (a stat) and stay inside the project is still said.
 */
export function createValidator(
  publish: (uri: string, version: number, diagnostics: Diagnostic[]) => void,
  log: (s: string) => void,
  trusted: () => boolean = () => true,
): Validator {
  const latest = new Map<string, number>();
  let counter = 0;
  return {
    async validate(doc, file) {
      const mine = ++counter;
      latest.set(doc.uri, mine);
      const text = doc.getText();
      const send = (ds: ProjectDiagnostic[]) => {
        if (latest.get(doc.uri) === mine) publish(doc.uri, doc.version, toLspDiagnostics(text, sortDiagnostics(ds)));
      };
      const parsed = parseJson(text);
      const first = textDiagnostics(parsed, file);
      if (!mediaCheckable(parsed, first)) return send(first);
      const media = mediaDiagnostics(parsed, file, cachedProbe, { probe: trusted() }).catch((e: unknown) => {
        log(`validating ${file}: ${(e as Error)?.stack ?? e}`);
        return [] as ProjectDiagnostic[];
      });
      const early = await Promise.race([media, delay(MEDIA_GRACE_MS).then(() => undefined)]);
      if (early) return send([...first, ...early]);
      send(first);
      send([...first, ...(await media)]);
    },
    forget(uri) {
      latest.delete(uri);
    },
  };
}
