import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@emodetect/backend/node';
import { composeScene, DEFAULT_SCENE } from '@emodetect/datasets';
import { createNodeFaceDetector, iou, type FaceDetector } from '@emodetect/face-detect/node';
import { createModel } from '@emodetect/model';
import { DEFAULT_CROP, readFer2013, splitIndices, type ImageDataset } from '@emodetect/preprocess/node';
import { requireFer2013 } from '../../../tools/test-data.ts';
import { createEmotionPipeline, createFrameLoop, createMeter, createTracker, cropFace, cropFaceGray, type FaceResult } from './index.ts';

let ds: ImageDataset;
let pool: number[];
let detector: FaceDetector;
beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm' });
  ds = await readFer2013(requireFer2013());
  pool = splitIndices(ds, 'PrivateTest');
  detector = await createNodeFaceDetector();
});

const SCENE = { ...DEFAULT_SCENE, minFaces: 2, maxFaces: 3, minSize: 170, maxSize: 210, occlusion: 0 };

describe('createEmotionPipeline', () => {
  it('labels every detected face with a probability per class, in one batch', async () => {
    const model = createModel({ arch: 'micro', seed: 1 });
    const pipeline = createEmotionPipeline(detector, model);
    let faces = 0;
    for (let s = 0; s < 6; s++) {
      const results = await pipeline.detect(composeScene(ds, pool, 100 + s, SCENE).image);
      faces += results.length;
      for (const r of results) {
        expect(Object.keys(r.probabilities)).toEqual(model.metadata.labels);
        expect(Object.values(r.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        expect(r.probabilities[r.emotion]).toBe(Math.max(...Object.values(r.probabilities)));
      }
    }
    expect(faces).toBeGreaterThan(0);
  });

  it('honours maxFaces and minFaceSize, and returns [] without faces', async () => {
    const model = createModel({ arch: 'micro', seed: 1 });
    // The first composed scene in which the detector finds at least two faces.
    let scene = composeScene(ds, pool, 100, SCENE).image;
    let all = await createEmotionPipeline(detector, model).detect(scene);
    for (let s = 101; all.length < 2 && s < 130; s++) {
      scene = composeScene(ds, pool, s, SCENE).image;
      all = await createEmotionPipeline(detector, model).detect(scene);
    }
    expect(all.length).toBeGreaterThan(1);
    expect(await createEmotionPipeline(detector, model, { maxFaces: 1 }).detect(scene)).toHaveLength(1);
    expect(await createEmotionPipeline(detector, model, { minFaceSize: 10_000 }).detect(scene)).toEqual([]);
    const empty = composeScene(ds, pool, 3000, { ...DEFAULT_SCENE, minFaces: 0, maxFaces: 0 }).image;
    expect(await createEmotionPipeline(detector, model).detect(empty)).toEqual([]);
  });

  it("cuts faces with the model's own crop geometry (metadata.crop), which options override", async () => {
    const scene = composeScene(ds, pool, 100, SCENE).image;
    const faces = await detector.estimateFaces(scene);
    expect(faces.length).toBeGreaterThan(0);
    // A runtime that records what it is given.
    const seen: Float32Array[] = [];
    const model = createModel({ arch: 'micro', seed: 1 });
    model.runtime = {
      description: 'recorder',
      predict: async (batch, n) => (seen.push(batch.slice()), new Float32Array(n * 7).fill(1 / 7)),
    };
    const { input } = model.metadata;
    expect(model.metadata.crop).toEqual(DEFAULT_CROP);
    await createEmotionPipeline(detector, model).classify(scene, faces.slice(0, 1));
    expect(Array.from(seen[0])).toEqual(Array.from(cropFace(scene, faces[0], input, DEFAULT_CROP)));
    model.metadata.crop = { margin: 0.5, shift: 0, align: false };
    await createEmotionPipeline(detector, model).classify(scene, faces.slice(0, 1));
    expect(Array.from(seen[1])).toEqual(Array.from(cropFace(scene, faces[0], input, model.metadata.crop)));
    expect(Array.from(seen[1])).not.toEqual(Array.from(seen[0]));
    await createEmotionPipeline(detector, model, { crop: { margin: 0.17 } }).classify(scene, faces.slice(0, 1));
    expect(Array.from(seen[2])).toEqual(Array.from(cropFace(scene, faces[0], input, { margin: 0.17, shift: 0, align: false })));
  });

  it('leaks no tensors over many frames', async () => {
    const model = createModel({ arch: 'micro', seed: 1 });
    const pipeline = createEmotionPipeline(detector, model);
    const frame = composeScene(ds, pool, 101, SCENE).image;
    await pipeline.detect(frame);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 15; i++) await pipeline.detect(frame);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('createFrameLoop', () => {
  it('detects on every (skipFrames + 1)-th frame only, tracks, and leaks nothing over 60 frames', async () => {
    const model = createModel({ arch: 'micro', seed: 1 });
    const pipeline = createEmotionPipeline(detector, model);
    let detections = 0;
    const counting = {
      ...pipeline,
      findFaces: async (img: Parameters<typeof pipeline.findFaces>[0]) => (detections++, pipeline.findFaces(img)),
    };
    const loop = createFrameLoop(counting, { skipFrames: 2 });
    const frame = composeScene(ds, pool, 101, SCENE).image;
    await loop.process(frame);
    const before = tf.memory().numTensors;
    const ids = new Set<number | undefined>();
    for (let i = 1; i < 60; i++) for (const r of await loop.process(frame)) ids.add(r.trackId);
    expect(detections).toBe(20);
    expect(tf.memory().numTensors).toBe(before);
    expect(loop.stats().frames).toBe(60);
    // The same faces on every frame keep their track ids.
    expect(ids.size).toBe((await pipeline.findFaces(frame)).length);
  });

  it('adapts how often it detects to a frame-time target: seldom when detection is slow, always when it is fast', async () => {
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const fake = (detectMs: number) => {
      let detections = 0;
      const pipeline = {
        findFaces: async () => (busy(detectMs), detections++, []),
        classify: async () => [],
        detect: async () => [],
      };
      return { pipeline, count: () => detections };
    };
    // Detection 40 ms, target 12 ms a frame: at least ceil(40 / 12) - 1 = 3 frames reuse each
    // detection (more if the machine is busy, at most maxSkip).
    const slow = fake(40);
    const slowLoop = createFrameLoop(slow.pipeline, { adaptive: { targetMs: 12, maxSkip: 5 }, tracker: null });
    const image = { width: 1, height: 1, data: new Uint8Array(1) };
    for (let i = 0; i < 24; i++) await slowLoop.process(image);
    expect(slowLoop.stats().skipFrames).toBeGreaterThanOrEqual(3);
    expect(slowLoop.stats().skipFrames).toBeLessThanOrEqual(5);
    expect(slow.count()).toBeLessThanOrEqual(8);
    // Detection far under the target: every frame is detected.
    const fast = fake(0);
    const fastLoop = createFrameLoop(fast.pipeline, { adaptive: { targetMs: 200 }, skipFrames: 3, tracker: null });
    for (let i = 0; i < 10; i++) await fastLoop.process(image);
    expect(fastLoop.stats().skipFrames).toBe(0);
    expect(fast.count()).toBeGreaterThanOrEqual(8);
  });
});

const face = (x: number, happy: number): FaceResult => ({
  box: { x, y: 10, width: 100, height: 100 },
  score: 0.9,
  keypoints: [],
  emotion: happy > 0.5 ? 'happy' : 'sad',
  probabilities: { happy, sad: 1 - happy },
});

describe('createTracker', () => {
  it('keeps ids across moving faces and smooths flickering scores', () => {
    const tracker = createTracker({ alpha: 0.3 });
    const a = tracker.update([face(0, 0.9), face(300, 0.1)]);
    expect(a.map((f) => f.trackId)).toEqual([1, 2]);
    // Frame 2: both faces moved a little; the first one's raw label flickers to sad.
    const b = tracker.update([face(305, 0.2), face(8, 0.4)]);
    expect(b.map((f) => f.trackId)).toEqual([2, 1]);
    expect(b[1].emotion).toBe('happy');
    expect(b[1].probabilities.happy).toBeCloseTo(0.3 * 0.4 + 0.7 * 0.9);
  });

  it('forgets a track after maxMissed frames and starts a new id', () => {
    const tracker = createTracker({ maxMissed: 1 });
    tracker.update([face(0, 0.9)]);
    tracker.update([]);
    expect(tracker.size).toBe(1);
    tracker.update([]);
    expect(tracker.size).toBe(0);
    expect(tracker.update([face(0, 0.9)])[0].trackId).toBe(2);
  });
});

describe('createMeter', () => {
  it('reports fps and latency percentiles over its window', () => {
    const meter = createMeter(10);
    for (let i = 0; i < 20; i++) meter.record(i < 10 ? 100 : 10 + i, i * 40);
    const s = meter.stats();
    expect(s.frames).toBe(20);
    expect(s.fps).toBeCloseTo(25, 5);
    expect(s.p50).toBe(25);
    expect(s.p95).toBe(29);
  });
});

function correlation(a: Uint8Array, b: Uint8Array): number {
  const n = a.length;
  const ma = a.reduce((x, y) => x + y, 0) / n;
  const mb = b.reduce((x, y) => x + y, 0) / n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

const INPUT = { width: 48, height: 48, channels: 1 as const, mean: 0, std: 1 };

describe('cropFace', () => {
  it('levels a tilted face by its eyes: the aligned crop matches the upright face better', async () => {
    let better = 0;
    let tried = 0;
    for (let s = 0; s < 12; s++) {
      const scene = composeScene(ds, pool, 4000 + s, {
        ...DEFAULT_SCENE,
        minFaces: 1,
        maxFaces: 1,
        minSize: 180,
        maxSize: 280,
        occlusion: 0,
        rotation: 25,
      });
      const truth = scene.faces[0];
      if (Math.abs(truth.rotation) < 10) continue;
      const [face] = await detector.estimateFaces(scene.image);
      if (!face || iou(face.box, truth.faceBox) < 0.4) continue;
      tried++;
      const gray = {
        width: scene.image.width,
        height: scene.image.height,
        data: Uint8Array.from({ length: scene.image.width * scene.image.height }, (_, i) => scene.image.data[4 * i]),
      };
      // With the default margin and shift, a crop covers about what FER2013's own crop covers:
      // compare with the upright source tile.
      const reference = { width: 48, height: 48, data: ds.pixels.slice(truth.index * 2304, (truth.index + 1) * 2304) };
      const aligned = cropFaceGray(gray, face, INPUT);
      const unaligned = cropFaceGray(gray, face, INPUT, { align: false });
      expect([aligned.width, aligned.height]).toEqual([48, 48]);
      if (correlation(aligned.data, reference.data) > correlation(unaligned.data, reference.data)) better++;
    }
    expect(tried).toBeGreaterThanOrEqual(4);
    expect(better / tried).toBeGreaterThanOrEqual(0.75);
  });
});
