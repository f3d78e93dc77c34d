import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageFileRgba } from '@emodetect/preprocess/node';
import { REPO_ROOT } from '../../../tools/test-data.ts';
import { createEmotionDetector, IMAGE_RECIPE, type EmotionDetector, type NodeInput } from './node.ts';

const PHOTO = path.join(REPO_ROOT, 'examples', 'astronaut.png');
let detector: EmotionDetector<NodeInput>;
beforeAll(async () => {
  detector = await createEmotionDetector();
});
afterAll(() => detector?.dispose());

describe('createEmotionDetector (Node)', () => {
  it('finds the face in the example photo and calls it happy, from a path, a Buffer or pixels alike', async () => {
    const fromPath = await detector.detect(PHOTO);
    expect(fromPath).toHaveLength(1);
    const [face] = fromPath;
    expect(face.emotion).toBe('happy');
    expect(Object.keys(face.probabilities)).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
    expect(Object.values(face.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(face.probabilities.happy).toBeGreaterThan(0.5);
    expect(face.score).toBeGreaterThan(0.65);
    // The face is in the upper middle of the 512x512 portrait.
    expect(face.box.x).toBeGreaterThan(100);
    expect(face.box.x + face.box.width).toBeLessThan(400);
    expect(face.trackId).toBeUndefined();
    expect(await detector.detect(await readFile(PHOTO))).toEqual(fromPath);
    expect(await detector.detect(await decodeImageFileRgba(PHOTO))).toEqual(fromPath);
    expect(detector.model.name).toBe('fer-base');
    expect(detector.recipes.image).toEqual(IMAGE_RECIPE);
  });

  it('follows a face through a stream of frames with one track id', async () => {
    const frame = await decodeImageFileRgba(PHOTO);
    const stream = detector.stream();
    const ids = new Set<number | undefined>();
    for (let i = 0; i < 4; i++) for (const f of await stream.process(frame)) ids.add(f.trackId);
    expect([...ids]).toHaveLength(1);
    expect([...ids][0]).toBeTypeOf('number');
    expect(stream.stats().frames).toBe(4);
  });

  it('names a bad input in its error, and refuses a bad recipe in one line', async () => {
    await expect(detector.detect(path.join(REPO_ROOT, 'no-such.png'))).rejects.toThrow(/no-such\.png: file not found/);
    await expect(detector.detect(new Uint8Array([1, 2, 3]))).rejects.toThrow(/image buffer: not a supported image/);
    await expect(createEmotionDetector({ image: { tiles: -1 } })).rejects.toThrow(/tiles must be an integer >= 0, not -1/);
  });
});
