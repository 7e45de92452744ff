import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { align } from '../daemon/engine/align';
import { memoryCache } from '../daemon/core/lru';
import { derived, SAMPLE } from './support/media';

describe('re-aligning from memory', () => {
  it('an option change that does not move fg re-aligns without decoding, to the same map as from scratch', async () => {
    const { fg } = await derived(SAMPLE, { crop: { x: 120, y: 70, width: 400, height: 240 }, fps: 30, offset: 0.8, frames: 120 });
    const cache = memoryCache();
    const first = await align(SAMPLE, fg, { cache });
    const misses = cache.stats.misses;
    const warm = await align(SAMPLE, fg, { cache, engine: 'precise', window: 12 });
    assert.equal(cache.stats.misses, misses, 'nothing had to be computed again');
    assert.ok(cache.stats.hits >= 4, `placement, both videos' frames and their descriptors came from memory (${cache.stats.hits} hits)`);
    assert.deepEqual(warm.spatial, first.spatial);
    const cold = await align(SAMPLE, fg, { engine: 'precise', window: 12 });
    assert.deepEqual(warm.temporal.bgFrameForFg, cold.temporal.bgFrameForFg);
  });

  it('keeps within its byte budget, least recently used first', () => {
    const c = memoryCache(100);
    c.set('a', 1, 40);
    c.set('b', 2, 40);
    assert.equal(c.get('a'), 1);
    c.set('c', 3, 40);
    assert.equal(c.get('b'), undefined, 'b was the least recently used');
    assert.equal(c.get('a'), 1);
    assert.equal(c.get('c'), 3);
    c.set('huge', 4, 1000);
    assert.equal(c.get('huge'), undefined, 'larger than the whole budget: not kept');
    assert.ok(c.stats.bytes <= 100);
  });
});
