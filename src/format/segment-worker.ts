/**
 * Worker thread entry: runs segment tasks (see segment-tasks.ts) posted by pool.ts and posts results back,
 * transferring the ArrayBuffers instead of copying them.
 */
import { parentPort } from 'node:worker_threads';
import { resultTransferList, runTask, TaskError, type Task } from './segment-tasks.ts';

export interface TaskRequest {
  id: number;
  task: Task;
}

export type TaskReply =
  | { id: number; ok: true; result: ReturnType<typeof runTask> }
  | { id: number; ok: false; code: string; reason: string };

const port = parentPort;
if (port === null) throw new Error('segment-worker.ts must run as a worker thread');

port.on('message', (request: TaskRequest) => {
  try {
    const result = runTask(request.task);
    port.postMessage({ id: request.id, ok: true, result } satisfies TaskReply, resultTransferList(result));
  } catch (err) {
    const reply: TaskReply =
      err instanceof TaskError
        ? { id: request.id, ok: false, code: err.code, reason: err.message }
        : { id: request.id, ok: false, code: 'EINTERNAL', reason: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
