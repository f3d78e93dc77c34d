/** Face tracking by box overlap, with exponential smoothing of the class scores. */
import { iou } from '@emodetect/face-detect';
import type { FaceResult } from './types.ts';

export interface TrackerOptions {
  /** A face continues a track when its box overlaps the track's last box by this IoU. Default 0.3. */
  minIou?: number;
  /** Weight of the newest frame in the smoothed scores (1 = no smoothing). Default 0.4. */
  alpha?: number;
  /** Frames a track survives without a matching face. Default 5. */
  maxMissed?: number;
}

export interface Tracker {
  /** Match this frame's faces to tracks; returns them with trackId and smoothed scores/emotion. */
  update(faces: FaceResult[]): FaceResult[];
  /** Number of live tracks. */
  readonly size: number;
  reset(): void;
}

interface Track {
  id: number;
  box: FaceResult['box'];
  probabilities: Record<string, number>;
  missed: number;
}

export function createTracker(opts: TrackerOptions = {}): Tracker {
  const minIou = opts.minIou ?? 0.3;
  const alpha = opts.alpha ?? 0.4;
  const maxMissed = opts.maxMissed ?? 5;
  let tracks: Track[] = [];
  let nextId = 1;
  return {
    get size() {
      return tracks.length;
    },
    reset() {
      tracks = [];
    },
    update(faces) {
      // Greedy matching, best overlaps first.
      const pairs: [number, number, number][] = [];
      faces.forEach((f, i) => tracks.forEach((t, j) => pairs.push([iou(f.box, t.box), i, j])));
      pairs.sort((a, b) => b[0] - a[0]);
      const faceTrack = new Map<number, Track>();
      const used = new Set<number>();
      for (const [o, i, j] of pairs) {
        if (o < minIou) break;
        if (faceTrack.has(i) || used.has(j)) continue;
        faceTrack.set(i, tracks[j]);
        used.add(j);
      }
      const out = faces.map((f, i) => {
        let t = faceTrack.get(i);
        if (!t) {
          t = { id: nextId++, box: f.box, probabilities: { ...f.probabilities }, missed: 0 };
          tracks.push(t);
          used.add(tracks.length - 1);
        } else {
          for (const k of Object.keys(f.probabilities))
            t.probabilities[k] = alpha * f.probabilities[k] + (1 - alpha) * (t.probabilities[k] ?? 0);
          t.box = f.box;
          t.missed = 0;
        }
        let emotion = f.emotion;
        let best = -1;
        for (const [k, v] of Object.entries(t.probabilities)) {
          if (v > best) {
            best = v;
            emotion = k;
          }
        }
        return { ...f, trackId: t.id, probabilities: { ...t.probabilities }, emotion };
      });
      tracks.forEach((t, j) => {
        if (!used.has(j)) t.missed++;
      });
      tracks = tracks.filter((t) => t.missed <= maxMissed);
      return out;
    },
  };
}
