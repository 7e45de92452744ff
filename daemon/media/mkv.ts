/**
 * Raw yuv420p frames with their own times, as a Matroska stream on a pipe. ffmpeg's rawvideo input
 * has one constant rate; a variable-rate fg keeps each frame's time only if the encoder is told it,
 * and Matroska is the simplest container ffmpeg reads from a pipe that carries a time per frame
 * (V_UNCOMPRESSED with the I420 FourCC is ffmpeg's own rawvideo mapping). The segment's size is
 * left unknown, as live streams do, and each frame is a cluster of its own (a cluster's blocks can
 * only be ±32 ms from its time at this scale): a header, then per frame a small head and the frame.
 */

/** Ticks of a millionth of a second: times to the microsecond. */
const TIMESTAMP_SCALE_NS = 1000;

const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** An EBML size as an 8-byte vint (0x01 and seven bytes). */
function size8(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  b[0] = 0x01;
  return b;
}

function element(id: number[], body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(id), size8(body.length), body]);
}

function uint(id: number[], v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return element(id, b);
}

const text = (id: number[], s: string) => element(id, Buffer.from(s, 'latin1'));

const ID = {
  EBML: [0x1a, 0x45, 0xdf, 0xa3],
  EBMLVersion: [0x42, 0x86],
  EBMLReadVersion: [0x42, 0xf7],
  EBMLMaxIDLength: [0x42, 0xf2],
  EBMLMaxSizeLength: [0x42, 0xf3],
  DocType: [0x42, 0x82],
  DocTypeVersion: [0x42, 0x87],
  DocTypeReadVersion: [0x42, 0x85],
  Segment: [0x18, 0x53, 0x80, 0x67],
  Info: [0x15, 0x49, 0xa9, 0x66],
  TimestampScale: [0x2a, 0xd7, 0xb1],
  MuxingApp: [0x4d, 0x80],
  WritingApp: [0x57, 0x41],
  Tracks: [0x16, 0x54, 0xae, 0x6b],
  TrackEntry: [0xae],
  TrackNumber: [0xd7],
  TrackUID: [0x73, 0xc5],
  TrackType: [0x83],
  FlagLacing: [0x9c],
  CodecID: [0x86],
  Video: [0xe0],
  PixelWidth: [0xb0],
  PixelHeight: [0xba],
  UncompressedFourCC: [0x2e, 0xb5, 0x24],
  Cluster: [0x1f, 0x43, 0xb6, 0x75],
  Timestamp: [0xe7],
  SimpleBlock: [0xa3],
};

/** The stream's start: EBML header, a segment of unknown size, its info and the one video track. */
export function mkvHead(width: number, height: number): Buffer {
  const ebml = element(
    ID.EBML,
    Buffer.concat([
      uint(ID.EBMLVersion, 1),
      uint(ID.EBMLReadVersion, 1),
      uint(ID.EBMLMaxIDLength, 4),
      uint(ID.EBMLMaxSizeLength, 8),
      text(ID.DocType, 'matroska'),
      uint(ID.DocTypeVersion, 4),
      uint(ID.DocTypeReadVersion, 2),
    ]),
  );
  const info = element(ID.Info, Buffer.concat([uint(ID.TimestampScale, TIMESTAMP_SCALE_NS), text(ID.MuxingApp, 'vidkompy'), text(ID.WritingApp, 'vidkompy')]));
  const video = element(ID.Video, Buffer.concat([uint(ID.PixelWidth, width), uint(ID.PixelHeight, height), element(ID.UncompressedFourCC, Buffer.from('I420', 'latin1'))]));
  const track = element(
    ID.TrackEntry,
    Buffer.concat([uint(ID.TrackNumber, 1), uint(ID.TrackUID, 1), uint(ID.TrackType, 1), uint(ID.FlagLacing, 0), text(ID.CodecID, 'V_UNCOMPRESSED'), video]),
  );
  return Buffer.concat([ebml, Buffer.from(ID.Segment), UNKNOWN_SIZE, info, element(ID.Tracks, track)]);
}

/**
 * What goes before one frame of `bytes` bytes shown at `seconds`: a cluster at that time holding one
 * keyframe block (track 1, no offset from the cluster). The frame's bytes follow it on the pipe.
 */
export function mkvFrameHead(seconds: number, bytes: number): Buffer {
  const ticks = Math.max(0, Math.round((seconds * 1e9) / TIMESTAMP_SCALE_NS));
  const timestamp = uint(ID.Timestamp, ticks);
  // Track number 1 as a one-byte vint, a 16-bit offset of 0 from the cluster's time, keyframe.
  const blockHead = Buffer.from([0x81, 0x00, 0x00, 0x80]);
  const block = Buffer.concat([Buffer.from(ID.SimpleBlock), size8(blockHead.length + bytes), blockHead]);
  return Buffer.concat([Buffer.from(ID.Cluster), size8(timestamp.length + block.length + bytes), timestamp, block]);
}
