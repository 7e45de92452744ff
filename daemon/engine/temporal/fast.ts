import { dtwBand, hamming64 } from '../../native/kernels';
import { evidenceFromSharpness } from './drift';
import { greyDescriptors, hashDescriptors, hashDistance, type HashSeq } from '../descriptors/hash';
import { bandLevel, interpolate, topLevel, type Level } from './pyramid';
import { checkAnchors, type TemporalOptions, type TemporalResult } from './solve';
import { robustLine } from '../../core/line';

/**
 * The `fast` engine: perceptual fingerprints instead of pixels.
 * 1. Keyframes: every k-th fg frame (at most MAX_KEYFRAMES).
 * 2. A top-level search over all of bg with the fingerprints as unit vectors finds where fg lies.
 * 3. Dynamic time warping over the keyframes inside a band around that, on the combined distance
 *    (weighted Hamming distances of pHash, aHash and dHash from the Hamming kernel, plus the colour
 *    histograms' Bhattacharyya distance), open at both ends: fg may be any stretch of bg.
 * 4. Linear interpolation of the keyframe path to every fg frame.
 * 5. A last frame-accurate pass on the 32×32 grey thumbnails the fingerprints came from, one frame
 *    either side plus the band's slack: the hashes of neighbouring frames are often identical.
 */
const MAX_KEYFRAMES = 2000;

export function alignFast(fg: HashSeq, bg: HashSeq, o: TemporalOptions): TemporalResult {
  const nF = fg.n;
  const nB = bg.n;
  const nominal = o.bgFps / o.fgFps;
  const anchors = checkAnchors(o.anchors ?? [], nF, nB);
  const k = Math.max(1, Math.ceil(nF / MAX_KEYFRAMES));

  // 2. Where fg lies, at the keyframes' spacing or coarser.
  const fd = hashDescriptors(fg);
  const bd = hashDescriptors(bg);
  const p = o.prior;
  const top = topLevel(
    fd,
    bd,
    Math.max(k, Math.ceil(nF / 300)),
    nominal,
    p ? (i) => [p.offset + p.slope * i - p.spread, p.offset + p.slope * i + p.spread + 1] : undefined,
  );
  o.onProgress?.(0.3);
  const line = robustLine(top.rows, top.path);
  const rate = Math.abs(line.slope / nominal - 1) < 0.25 ? line.slope : nominal;
  const around = interpolate(top);

  // 3. DTW over keyframes in a band around it.
  const keys: number[] = [];
  for (let i = 0; i < nF; i += k) keys.push(i);
  if (keys[keys.length - 1] !== nF - 1) keys.push(nF - 1);
  const half = Math.max(o.window ?? 0, Math.ceil((top.rows.length > 1 ? top.rows[1] - top.rows[0] : 1) * rate) + 4);
  const stride = 2 * half + 1;
  const rows = keys.length;
  const lo = new Int32Array(rows);
  const width = new Int32Array(rows);
  const cost = new Float32Array(rows * stride).fill(Infinity);
  for (let r = 0; r < rows; r++) {
    const pinned = anchors.find((a) => a.fg === keys[r]);
    const centre = pinned ? pinned.bg : Math.round(around(keys[r]));
    let a = Math.max(0, Math.min(nB - 1, centre - half));
    if (r > 0) a = Math.max(a, lo[r - 1]);
    const b = pinned ? Math.max(a, pinned.bg) : Math.min(nB - 1, Math.max(a, centre + half));
    if (pinned) a = b;
    lo[r] = a;
    width[r] = Math.min(stride, b - a + 1);
    const i = keys[r];
    const w = width[r];
    const hp = hamming64(fg.p.subarray(i, i + 1), 1, bg.p.subarray(a, a + w), w, 1);
    const ha = hamming64(fg.a.subarray(i, i + 1), 1, bg.a.subarray(a, a + w), w, 1);
    const hd = hamming64(fg.d.subarray(i, i + 1), 1, bg.d.subarray(a, a + w), w, 1);
    for (let c = 0; c < w; c++) cost[r * stride + c] = hashDistance(hp[c], ha[c], hd[c], fg.hist, i, bg.hist, a + c);
  }
  const dtw = dtwBand(cost, rows, lo, width, stride, { openBegin: true, openEnd: true });
  o.onProgress?.(0.7);

  // 4. Keyframes to every frame.
  const keyLevel: Level = { rows: Int32Array.from(keys), path: dtw.path, cost: new Float32Array(rows), sharp: new Float32Array(rows) };
  const centre = interpolate(keyLevel);

  // 5. Frame-accurate on the thumbnails.
  const grey = greyDescriptors(fg);
  const greyBg = greyDescriptors(bg);
  const window = Math.max(o.window ?? 0, Math.ceil(k * rate) + 2);
  const last = bandLevel(grey, greyBg, 1, centre, window, rate, anchors);
  const confidence = Float32Array.from(last.cost, (c) => Math.max(0, Math.min(1, 1 - c)));
  const fit = robustLine(
    Int32Array.from({ length: nF }, (_, i) => i),
    last.path,
  );
  o.onProgress?.(1);
  return {
    bgFrameForFg: last.path,
    confidence,
    evidence: evidenceFromSharpness(last.sharp),
    window,
    slope: fit.slope,
    intercept: fit.intercept,
    maskFraction: 1,
    top: top.top,
  };
}
