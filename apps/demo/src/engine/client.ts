/** The page's handle on the inference worker: start it, send frames or images, get plain results. */
import type { AnalyzeResult, EngineConfig, FromWorker, ReadyInfo, ToWorker } from './protocol.ts';

export class Engine {
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: AnalyzeResult) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly worker: Worker,
    readonly info: ReadyInfo,
  ) {
    worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const msg = ev.data;
      if (msg.type === 'result') {
        this.pending.get(msg.result.id)?.resolve(msg.result);
        this.pending.delete(msg.result.id);
      } else if (msg.type === 'error' && msg.id !== undefined) {
        this.pending.get(msg.id)?.reject(new Error(msg.message));
        this.pending.delete(msg.id);
      }
    };
  }

  /** Start a worker, initialise the backend and load the models; rejects with a one-line reason. */
  static start(config: EngineConfig): Promise<Engine> {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    return new Promise((resolve, reject) => {
      worker.onmessage = (ev: MessageEvent<FromWorker>) => {
        if (ev.data.type === 'ready') resolve(new Engine(worker, ev.data.info));
        else if (ev.data.type === 'error') {
          worker.terminate();
          reject(new Error(ev.data.message));
        }
      };
      worker.onerror = (ev) => {
        worker.terminate();
        reject(new Error(ev.message || 'the inference worker failed to start'));
      };
      worker.postMessage({ type: 'init', config } satisfies ToWorker);
    });
  }

  private send(msg: ToWorker & { id: number }, transfer: Transferable[]): Promise<AnalyzeResult> {
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  /** Analyse one video frame (tracked and smoothed when `smoothing`). The bitmap is transferred. */
  analyzeFrame(bitmap: ImageBitmap, smoothing: boolean): Promise<AnalyzeResult> {
    return this.send({ type: 'frame', id: this.nextId++, bitmap, smoothing }, [bitmap]);
  }

  /** Analyse one still image (no tracking). The bitmap is transferred. */
  analyzeImage(bitmap: ImageBitmap): Promise<AnalyzeResult> {
    return this.send({ type: 'image', id: this.nextId++, bitmap }, [bitmap]);
  }

  terminate(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error('the engine was stopped'));
    this.pending.clear();
  }
}
