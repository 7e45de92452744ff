/**
 * A video's picture as vidkompy sees it, as a player shows it: upright (ffmpeg's decoder output is
 * auto-rotated), whole frames (an interlaced picture deinterlaced) and square pixels (anamorphic
 * video, DVDs, DV, HDV's 1440×1080, stretched to its shown width). Every decode applies it
 * (asShown), so a DVD or broadcast bg and a progressive square-pixel HD fg are compared, placed and
 * rendered as they look, and a render carries no combing. Pure: probe.ts and the decoder
 * (ffmpeg.ts) both read a stream's entries through it.
 */

/** The stream entries of ffprobe's JSON that say how the picture is shown. */
export interface StreamShape {
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number }[];
  field_order?: string;
}

export interface Shown {
  /** Upright, square-pixel size: what every decode delivers. */
  width: number;
  height: number;
  /** The stored pixels' width over their height as shown, upright (1: square; 4:3 in HDV's 1440×1080). */
  sar: number;
  /** Clockwise degrees the decoder turns the stored picture. */
  rotation: number;
  /** Stored as two fields a moment apart (field order tt/bb/tb/bt): decodes deinterlace it. */
  interlaced: boolean;
}

/** Pixel shapes within this fraction of square are taken as square (1:1 written as 0.999 by some muxers). */
const SQUARE_WITHIN = 0.01;

/** ffprobe's "4:3" as 4/3; absent, unknown ("0:1", "N/A") or absurd: square. */
function ratio(s: string | undefined): number {
  const [n, d] = (s ?? '').split(':').map(Number);
  const r = n / d;
  return r > 0.1 && r < 10 ? r : 1;
}

/** How a video stream is shown; a still image (`image`) as stored, upright. */
export function shownOf(v: StreamShape, image = false): Shown {
  const tagRot = Number(v.tags?.rotate ?? 0) || 0;
  const sideRot = v.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? 0;
  const rotation = (((Math.round(tagRot || -sideRot) % 360) + 360) % 360) as number;
  const swap = rotation === 90 || rotation === 270;
  const w = (swap ? v.height : v.width) ?? 0;
  const h = (swap ? v.width : v.height) ?? 0;
  // Rotated a quarter turn, a pixel's shown shape turns with it.
  const sar = image ? 1 : swap ? 1 / ratio(v.sample_aspect_ratio) : ratio(v.sample_aspect_ratio);
  const interlaced = !image && /^(tt|bb|tb|bt)$/.test(v.field_order ?? '');
  if (Math.abs(Math.log(sar)) <= SQUARE_WITHIN) return { width: w, height: h, sar: 1, rotation, interlaced };
  // Stretched (or narrowed) across, as players show it: the height, and so the lines, stay; even,
  // so the 4:2:0 render needs no padding for it.
  return { width: Math.max(2, 2 * Math.round((w * sar) / 2)), height: h, sar, rotation, interlaced };
}

/**
 * A decode's `filter` with the picture made as shown. The deinterlacer comes first, where it sees
 * the frames as decoded, one after another (it reads the fields of the frames either side; one per
 * frame, times kept, so frame counts and numbers stay those of the stream; only frames flagged
 * interlaced, so a film DVD's progressive frames pass untouched). The stretch comes after the
 * leading frame picks (select, trim: they do not look at the picture, and the frames they drop are
 * then never stretched), before anything that does.
 */
export function asShown(filter: string | undefined, s: Shown | undefined): string | undefined {
  if (!s || (s.sar === 1 && !s.interlaced)) return filter;
  const parts = filter ? filter.split(/(?<!\\),/) : [];
  let k = 0;
  while (k < parts.length && /^(select|trim)=/.test(parts[k])) k++;
  const deint = s.interlaced ? ['bwdif=mode=send_frame:parity=auto:deint=interlaced'] : [];
  const square = s.sar === 1 ? [] : [`scale=${s.width}:${s.height}:flags=bicubic,setsar=1`];
  return [...deint, ...parts.slice(0, k), ...square, ...parts.slice(k)].join(',');
}
