import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { writeFileAtomic } from '../daemon/core/atomic';
import { createJobQueue, tryCommit } from '../daemon/server/jobQueue';
import type { Job } from '../protocol/lsp';
import { tempDir } from './support/media';

/**
 * A cancel the daemon reports as having stopped a job must mean no result was written, however
 * late it lands: the commit (cancel check + rename) is the one point that decides.
 */

const settle = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('job queue and commits', () => {
  it('a cancel before the commit stops the job and writes nothing; after it, the job is not counted and its result stands', async () => {
    const dir = await tempDir('jobs-commit');
    const changes: Job[] = [];
    const queue = createJobQueue((j) => changes.push({ ...j }));
    const job = (file: string, gate: Promise<void>) =>
      queue.submit('align', file, async (signal, _progress, state) => {
        await gate;
        await writeFileAtomic(file, '{"ok":true}\n', { signal, commit: () => tryCommit(state) });
        await settle(); // what a job still does after its result is in place (replying, logging)
        return file;
      });

    let openA!: () => void;
    const a = path.join(dir, 'a.json');
    const runA = job(a, new Promise<void>((r) => (openA = r)));
    await settle();
    assert.equal(queue.cancel(a), 1, 'the running job is counted');
    openA();
    await assert.rejects(runA, /cancelled/);
    assert.deepEqual(await fs.readdir(dir), [], 'neither the result nor a temp file');

    const b = path.join(dir, 'b.json');
    const runB = job(b, Promise.resolve());
    // Wait until b's rename has happened, then cancel while the job is still finishing.
    for (let i = 0; i < 200; i++) {
      if (await fs.stat(b).then(() => true, () => false)) break;
      await settle(1);
    }
    assert.equal(queue.cancel(b), 0, 'a committed job is past cancelling');
    assert.equal(await runB, b);
    assert.equal(await fs.readFile(b, 'utf8'), '{"ok":true}\n');
    const states = queue.list().map((j) => [j.project, j.state]);
    assert.deepEqual(states, [[a, 'cancelled'], [b, 'done']]);
  });

  it('a counted cancel wins over work that ends without committing (a saved alignment reused)', async () => {
    const queue = createJobQueue(() => undefined);
    let release!: () => void;
    const run = queue.submit('align', 'p', async () => {
      await new Promise<void>((r) => (release = r));
      return 'reused';
    });
    await settle();
    assert.equal(queue.cancel('p'), 1);
    release();
    await assert.rejects(run, /cancelled/);
    assert.equal(queue.list()[0].state, 'cancelled');
  });

  it('cancels queued jobs before they start, and runs one job at a time', async () => {
    const queue = createJobQueue(() => undefined);
    let running = 0;
    let most = 0;
    const work = async () => {
      most = Math.max(most, ++running);
      await settle(10);
      running--;
      return 1;
    };
    const first = queue.submit('render', 'x', work);
    const second = queue.submit('render', 'y', work);
    const third = queue.submit('render', 'z', work);
    assert.equal(queue.cancel('y'), 1);
    await assert.rejects(second, /cancelled/);
    assert.deepEqual(await Promise.all([first, third]), [1, 1]);
    assert.equal(most, 1);
    assert.deepEqual(queue.list().map((j) => [j.project, j.state]), [['y', 'cancelled'], ['x', 'done'], ['z', 'done']]);
  });

  it('runs work done elsewhere (a batch on a job queue) beside the queue, listed, timed and cancelled like the rest', async () => {
    const queue = createJobQueue(() => undefined);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const local = queue.submit('align', 'p', async () => (await held, 1));
    const remote = queue.submit('batch', 'folder', (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')))), undefined, { beside: true });
    await settle();
    assert.deepEqual(queue.list().map((j) => [j.kind, j.state]), [['align', 'running'], ['batch', 'running']], 'both run at once');
    const live = queue.submit('align', 'p', async () => 2, undefined, { live: true });
    assert.equal(queue.list().find((j) => j.live)?.state, 'queued', 'a local job still waits its turn');
    assert.equal(queue.cancel('folder'), 1);
    await assert.rejects(remote, /cancelled/);
    release();
    assert.deepEqual([await local, await live], [1, 2]);
    const jobs = queue.list();
    assert.deepEqual(jobs.map((j) => [j.kind, j.state]), [['batch', 'cancelled'], ['align', 'done'], ['align', 'done']]);
    assert.ok(jobs.every((j) => typeof j.seconds === 'number' && j.seconds >= 0), 'each says how long it ran');
  });
});
