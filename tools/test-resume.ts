/**
 * The resume check shared by the tfjs and native trainers' tests: one run straight through, the
 * same run interrupted (as by Ctrl-C) once its first epoch is saved and then resumed from the
 * checkpoint. Each test compares the two final models with its own tolerance.
 */
import path from 'node:path';
import type { EmotionModel } from '@emodetect/model';
import type { ImageDataset } from '@emodetect/preprocess';
import {
  readCheckpoint,
  resolveSplits,
  train,
  type Checkpoint,
  type ProgressSink,
  type StepEngine,
  type TrainConfig,
} from '@emodetect/train/node';

export const silentProgress: ProgressSink = { batch: () => undefined, epoch: () => undefined, message: () => undefined };

export interface ResumeCheck {
  ds: ImageDataset;
  /** A fresh model, the same each call (same architecture and seed). */
  fresh: () => EmotionModel;
  config: TrainConfig;
  /** Parent folder of the two runs (`whole`, `part`). */
  dir: string;
  /** The native engine for a model (with the checkpoint's optimizer state when resuming); tfjs when absent. */
  engine?: (model: EmotionModel, resume?: Checkpoint) => StepEngine;
  /** The tfjs backend for shard workers (tfjs runs with more than one worker). */
  backend?: 'wasm' | 'cpu';
  /** Called after the uninterrupted run, before the interrupted one starts. */
  afterWhole?: () => void;
}

/** The uninterrupted run's model and the interrupted-then-resumed run's model. */
export async function wholeAndResumed(o: ResumeCheck): Promise<{ whole: EmotionModel; resumed: EmotionModel }> {
  const splits = resolveSplits(o.ds, 1);
  const data = { data: o.ds, train: splits.train, val: splits.val };
  const run = (model: EmotionModel, folder: string, progress: ProgressSink, resume?: Checkpoint) =>
    train({
      model,
      data,
      config: o.config,
      runDir: path.join(o.dir, folder),
      progress,
      ...(resume && { resume }),
      ...(o.engine && { engine: o.engine(model, resume) }),
      ...(o.backend && { backend: o.backend }),
    });
  const whole = o.fresh();
  await run(whole, 'whole', silentProgress);
  o.afterWhole?.();
  const first = await run(o.fresh(), 'part', { ...silentProgress, epoch: () => void process.emit('SIGINT') });
  if (!first.interrupted) throw new Error('wholeAndResumed: the interrupted run was not interrupted');
  const ckpt = await readCheckpoint(path.join(o.dir, 'part'));
  if (ckpt.state.epoch !== 1) throw new Error(`wholeAndResumed: checkpoint after epoch ${ckpt.state.epoch}, expected 1`);
  await run(ckpt.model, 'part', silentProgress, ckpt);
  return { whole, resumed: ckpt.model };
}
