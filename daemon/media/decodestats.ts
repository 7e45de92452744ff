/**
 * Counts ffmpeg decode processes: how often each input is decoded, for what, at which size and by
 * which decoder. Off unless asked for (the bench turns it on): a daemon that runs for days must not
 * keep a record of every decode.
 */

export interface DecodeRecord {
  file: string;
  /** What the decode was for: readFrames' `what` argument ("decoding for alignment", ...). */
  purpose: string;
  /** The stage it started in, as the caller last set it (setDecodeStage); '' when none was set. */
  stage: string;
  stream: 'video' | 'audio';
  /** Output size of each frame (0 × 0 for audio). */
  width: number;
  height: number;
  /** 'cpu', a hardware decoder's name, or 'audio'. */
  decoder: string;
  /** Frames that came out of the decoder (audio: 0). */
  frames: number;
}

let records: DecodeRecord[] | undefined;
let stage = '';

/** Starts counting afresh (on) or stops and forgets (off). */
export function countDecodes(on = true): void {
  records = on ? [] : undefined;
}

/** The stage that decodes started from now on belong to (the bench sets it from the progress callback). */
export function setDecodeStage(s: string | undefined): void {
  stage = s ?? '';
}

/** Called by ffmpeg.ts when it spawns a decoder; the record's `frames` grows as frames come out. */
export function recordDecode(r: Omit<DecodeRecord, 'frames' | 'stage'>): DecodeRecord | undefined {
  if (!records) return undefined;
  const rec: DecodeRecord = { ...r, stage, frames: 0 };
  records.push(rec);
  return rec;
}

/** Every decode since countDecodes(), in the order they started (copies). */
export function decodeStats(): DecodeRecord[] {
  return (records ?? []).map((r) => ({ ...r }));
}

export interface DecodeSummary {
  stage: string;
  file: string;
  purpose: string;
  size: string;
  decoder: string;
  decodes: number;
  frames: number;
}

/** Decodes grouped by stage, file, purpose, size and decoder, in first-seen order. */
export function summarizeDecodes(recs: DecodeRecord[]): DecodeSummary[] {
  const rows = new Map<string, DecodeSummary>();
  for (const r of recs) {
    const size = r.stream === 'audio' ? 'audio' : `${r.width}x${r.height}`;
    const key = JSON.stringify([r.stage, r.file, r.purpose, size, r.decoder]);
    const row = rows.get(key) ?? { stage: r.stage, file: r.file, purpose: r.purpose, size, decoder: r.decoder, decodes: 0, frames: 0 };
    row.decodes++;
    row.frames += r.frames;
    rows.set(key, row);
  }
  return [...rows.values()];
}

/** A plain-text table of summarizeDecodes(), files shown by `name` (e.g. 'bg'/'fg' or the base name). */
export function decodeTable(recs: DecodeRecord[], name: (file: string) => string = (f) => f): string {
  const head = ['stage', 'input', 'purpose', 'size', 'decoder', 'decodes', 'frames'];
  const rows = summarizeDecodes(recs).map((s) => [s.stage || '-', name(s.file), s.purpose, s.size, s.decoder, String(s.decodes), String(s.frames)]);
  const table = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  return table.map((r) => r.map((c, i) => (i >= 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}
