/** Messages between the page and the inference worker (plain, structured-cloneable data only). */
import type { BackendName } from '@emodetect/backend';
import type { MeterStats } from '@emodetect/realtime';
import type { FaceResult } from '@emodetect/realtime';

export type { BackendName, FaceResult, MeterStats };

export interface EngineConfig {
  /** tfjs backend, `auto` = WebGPU when an adapter exists, else wasm, else cpu. */
  backend: BackendName;
  /** Absolute URL of the folder that copy-assets fills (…/assets). */
  assets: string;
  /** Face detector: short range (default) or full range. */
  detector: 'short' | 'full';
}

export type ToWorker =
  | { type: 'init'; config: EngineConfig }
  | { type: 'frame'; id: number; bitmap: ImageBitmap; smoothing: boolean }
  | { type: 'image'; id: number; bitmap: ImageBitmap };

export interface ReadyInfo {
  /** The tfjs backend that runs (e.g. `wasm`, `webgl`). */
  backend: string;
  /** Backends passed over by `auto`, with the reason. */
  skipped: { backend: string; reason: string }[];
  /** The model of the live view (the small one where it is bundled). */
  model: { name: string; arch: string; parameters: number; labels: string[]; url: string };
  /** The model that analyses photos (the default, most accurate one). */
  imageModel: { name: string; url: string };
  /** Time to initialise the backend and load both models, and to run the first (warm-up) frame. */
  loadMs: number;
  warmupMs: number;
}

export interface AnalyzeResult {
  id: number;
  faces: FaceResult[];
  width: number;
  height: number;
  /** Worker time for this image: pixel read-back, detection, crops, classification, tracking. */
  ms: number;
  stats: MeterStats & { skipFrames: number };
}

export type FromWorker =
  { type: 'ready'; info: ReadyInfo } | { type: 'result'; result: AnalyzeResult } | { type: 'error'; id?: number; message: string };
