/**
 * Worker thread entry: runs segment tasks (segment-core.js) posted by pool.ts and posts results back,
 * transferring the ArrayBuffers instead of copying them.
 *
 * Everything a worker loads is plain JavaScript (this file, segment-core.js, zstd-core.js, frame-core.js,
 * buffers.js; node built-ins otherwise). A TypeScript module would make each worker load Node's type
 * stripper (amaro, a WebAssembly build of swc) into its own V8 isolate first: measured on Node 24.21, that is
 * ~10 MB of RSS and ~100 ms of CPU per worker, paid again by every process that starts a pool. The types of
 * these modules are checked all the same (JSDoc, tsconfig checkJs), and segment-tasks.ts declares the task
 * and result shapes.
 */
import { parentPort } from 'node:worker_threads';
import { resultTransferList, runTask, TaskError } from './segment-core.js';

/** @import { TaskReply, TaskRequest } from './segment-tasks.ts' */

const port = parentPort;
if (port === null) throw new Error('segment-worker.js must run as a worker thread');

port.on('message', (/** @type {TaskRequest} */ request) => {
  try {
    const result = runTask(request.task);
    port.postMessage(/** @satisfies {TaskReply} */ ({ id: request.id, ok: true, result }), resultTransferList(result));
  } catch (err) {
    /** @type {TaskReply} */
    const reply =
      err instanceof TaskError
        ? { id: request.id, ok: false, code: err.code, reason: err.message }
        : { id: request.id, ok: false, code: 'EINTERNAL', reason: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
