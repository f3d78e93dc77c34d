'use client';
import { emotionColor, type FaceResult } from '@emodetect/realtime';

/** One card per face: label, confidence and a bar per class (the same numbers as on the canvas). */
export function FaceList({ faces, empty }: { faces: readonly FaceResult[]; empty?: string }) {
  if (faces.length === 0) return <p className="status">{empty ?? 'No face found.'}</p>;
  return (
    <>
      {faces.map((f, i) => (
        <section
          className="face"
          key={f.trackId ?? `i${i}`}
          data-testid="face"
          data-emotion={f.emotion}
          data-confidence={f.probabilities[f.emotion].toFixed(3)}
        >
          <h3 style={{ color: emotionColor(f.emotion) }}>
            {f.trackId !== undefined ? `#${f.trackId} ` : ''}
            {f.emotion} · {Math.round(100 * f.probabilities[f.emotion])}%
          </h3>
          <div className="bars">
            {Object.entries(f.probabilities).map(([label, p]) => (
              <Bar key={label} label={label} p={p} />
            ))}
          </div>
        </section>
      ))}
    </>
  );
}

function Bar({ label, p }: { label: string; p: number }) {
  return (
    <>
      <span>{label}</span>
      <span className="track">
        <span className="fill" style={{ display: 'block', width: `${(100 * p).toFixed(1)}%`, background: emotionColor(label) }} />
      </span>
      <span className="pct">{(100 * p).toFixed(0)}%</span>
    </>
  );
}
