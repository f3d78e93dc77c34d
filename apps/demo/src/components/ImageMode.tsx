'use client';
import { useEffect, useRef, useState } from 'react';
import { drawFaces, faceJson, type FaceResult } from '@emodetect/realtime';
import { FaceList } from './FaceList.tsx';
import { useEngine } from './useEngine.ts';

interface ImageResult {
  file: string;
  /** An object URL of the picture, drawn under the faces. */
  url?: string;
  width?: number;
  height?: number;
  faces: FaceResult[];
  error?: string;
}

/** The CLI's `detect --json` shape, so a download here reads like `emodetect detect --json`. */
function toJson(results: readonly ImageResult[]): string {
  const files = results.map((r) =>
    r.error
      ? { file: r.file, error: r.error }
      : {
          file: r.file,
          faces: r.faces.map(faceJson),
        },
  );
  return JSON.stringify({ files }, null, 2);
}

export function ImageMode() {
  const engine = useEngine('auto');
  const [results, setResults] = useState<ImageResult[]>([]);
  const [busy, setBusy] = useState(false);
  const [over, setOver] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  async function analyze(files: File[]) {
    if (engine.kind !== 'ready' || files.length === 0) return;
    setBusy(true);
    const out: ImageResult[] = [];
    for (const file of files) {
      try {
        const bitmap = await createImageBitmap(file).catch(() => {
          throw new Error('not an image this browser can decode (corrupt, truncated or unsupported format)');
        });
        const { width, height } = bitmap;
        if (width === 0 || height === 0) throw new Error('the image is empty (0 pixels)');
        const r = await engine.engine.analyzeImage(bitmap);
        out.push({ file: file.name, url: URL.createObjectURL(file), width, height, faces: r.faces });
      } catch (e) {
        out.push({ file: file.name, faces: [], error: e instanceof Error ? e.message : String(e) });
      }
      setResults((prev) => [...out, ...prev.filter((p) => !out.some((o) => o.file === p.file))]);
    }
    setBusy(false);
  }

  function download() {
    const blob = new Blob([toJson(results)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'emodetect-results.json';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  return (
    <div>
      <div
        className={`drop${over ? ' over' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          void analyze([...e.dataTransfer.files]);
        }}
      >
        <p>Drop photos here, or</p>
        <input
          ref={inputRef}
          type="file"
          accept="image/*"
          multiple
          data-testid="file-input"
          onChange={(e) => void analyze([...(e.target.files ?? [])])}
        />
        <p className="status">
          {engine.kind === 'loading' && 'Loading the models…'}
          {engine.kind === 'ready' &&
            `Ready (backend ${engine.engine.info.backend}). Photos are analysed in this browser; nothing is uploaded.`}
          {busy && ' Analysing…'}
        </p>
      </div>
      {engine.kind === 'error' && (
        <div className="message error" role="alert">
          <strong>The models could not start.</strong>
          {engine.message}
        </div>
      )}
      {results.length > 0 && (
        <div className="toolbar">
          <button className="primary" data-testid="download" onClick={download}>
            Download JSON
          </button>
          <button
            onClick={() => {
              for (const r of results) if (r.url) URL.revokeObjectURL(r.url);
              setResults([]);
            }}
          >
            Clear
          </button>
          <span className="status" data-testid="summary">
            {results.length} file{results.length > 1 ? 's' : ''}, {results.reduce((n, r) => n + r.faces.length, 0)} faces
          </span>
        </div>
      )}
      <div className="results">
        {results.map((r) => (
          <section className="result" key={r.file} data-testid="result" data-file={r.file}>
            <h2>{r.file}</h2>
            {r.error ? (
              <div className="message error" data-testid="file-error">
                <strong>{r.file}: cannot be analysed.</strong>
                {r.error}
              </div>
            ) : (
              <div className="stage">
                <AnnotatedImage result={r} />
                <div className="faces">
                  <FaceList faces={r.faces} />
                </div>
              </div>
            )}
          </section>
        ))}
      </div>
    </div>
  );
}

function AnnotatedImage({ result }: { result: ImageResult }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || !result.url) return;
    const img = new Image();
    img.onload = () => {
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      ctx.drawImage(img, 0, 0);
      drawFaces(ctx, result.faces);
    };
    img.src = result.url;
  }, [result]);
  return (
    <div className="viewport">
      <canvas ref={ref} data-testid="annotated" style={{ maxWidth: 640 }} />
    </div>
  );
}
