/**
 * A training worker thread: builds a replica of the model, then answers shard requests with
 * gradients (see shard.ts). Started by {@link startShardWorkers}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initNodeBackend, type BackendName } from '@emodetect/backend/node';
import { createModel } from '@emodetect/model';
import { runShardWithWeights, type ShardRequest } from './shard.ts';

export interface WorkerInit {
  backend: BackendName;
  arch: string;
  labels: string[];
  input: { height: number; width: number; channels: 1; mean: number; std: number };
}

const init = workerData as WorkerInit;
await initNodeBackend({ backend: init.backend });
const { model } = createModel({ arch: init.arch, labels: init.labels, input: init.input });

parentPort!.on('message', (msg: { req: ShardRequest; weights: Float32Array[] }) => {
  try {
    const r = runShardWithWeights(model, msg.req, msg.weights);
    parentPort!.postMessage(
      { ok: true, result: r },
      r.grads.map((g) => g.buffer as ArrayBuffer),
    );
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: (e as Error).message });
  }
});
parentPort!.postMessage({ ready: true });
