/**
 * The engine's face: align and render. Everything else under engine/ is its inside — spatial/
 * (where fg sits), temporal/ (which bg frame under each fg frame), descriptors/ (what frames are
 * compared as), render/ (the composite). Results are in memory only: daemon/store keeps them on disk.
 */
export { align, descriptorOf } from './align';
export type { AlignOptions, FirstMap, Located, SpatialOptions } from './context';
export type { Described, DescribeRequest, DescriptorKind, DescriptorSet, Descriptors, FeatureSeq } from './descriptors/types';
export { hashKind } from './descriptors/hash';
export { pixelsKind } from './descriptors/pixels';
export { summary, type Alignment, type VideoSummary } from './result';
export { subFrame, timeAt } from './temporal/subframe';
export { locate, MIN_SPATIAL_SCORE, regions } from './spatial/locate';
export { checkDecodedAll, compose, geometry, prepareOutput, type ComposeOptions, type ComposeResult, type FrameRange, type Geometry } from './render/compose';
export { chunkFile, joinChunks, planChunks, removeChunkFiles, sweepChunks, type JoinOptions } from './render/chunks';
