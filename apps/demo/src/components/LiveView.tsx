'use client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { drawFaces, type FaceResult } from '@emodetect/realtime';
import type { BackendName } from '../engine/protocol.ts';
import { FaceList } from './FaceList.tsx';
import { BACKEND_CHOICES, backendFromQuery, useEngine } from './useEngine.ts';

/** What the camera is doing; every problem has its own message and way back. */
type CameraState =
  | { kind: 'starting' }
  | { kind: 'live' }
  | { kind: 'denied' }
  | { kind: 'no-camera' }
  | { kind: 'busy' }
  | { kind: 'unplugged' }
  | { kind: 'unsupported' }
  | { kind: 'error'; message: string };

const CAMERA_MESSAGES: Record<Exclude<CameraState['kind'], 'starting' | 'live' | 'error'>, [string, string]> = {
  denied: [
    'Camera permission was denied.',
    "Allow camera access for this site in the browser's address bar or settings, then press Retry. Image mode works without a camera.",
  ],
  'no-camera': ['No camera was found.', 'Plug one in (the page retries when a camera appears), or use image mode.'],
  busy: ['The camera is in use by another application.', 'Close the other application, then press Retry.'],
  unplugged: ['The camera stopped: it was unplugged or switched off.', 'The page reconnects when a camera appears; or press Retry.'],
  unsupported: [
    'This page cannot use a camera here.',
    'Camera access needs a secure page (https:// or http://localhost) and a browser with getUserMedia.',
  ],
};

function cameraError(e: unknown): CameraState {
  const name = e instanceof DOMException || e instanceof Error ? e.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return { kind: 'denied' };
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return { kind: 'no-camera' };
  if (name === 'NotReadableError' || name === 'TrackStartError') return { kind: 'busy' };
  return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
}

interface Shown {
  faces: FaceResult[];
  fps: number;
  p50: number;
  ms: number;
  frames: number;
  /** Frames that reuse a detection's boxes (the loop adapts it to keep 30 FPS). */
  skipFrames: number;
}

declare global {
  interface Window {
    /** Read by the end-to-end tests and the FPS benchmark. */
    __emodetect?: {
      backend: string;
      firstPredictionMs: number | null;
      frames: number;
      fps: number;
      p50: number;
      faces: (Pick<FaceResult, 'box' | 'emotion'> & { confidence: number })[];
    };
  }
}

export function LiveView() {
  const videoRef = useRef<HTMLVideoElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const streamRef = useRef<MediaStream | null>(null);
  // Chosen after mount: `?backend=wasm` picks the first backend (links, benchmarks), else auto.
  const [backend, setBackend] = useState<BackendName | null>(null);
  useEffect(() => setBackend(backendFromQuery() ?? 'auto'), []);
  const [engineAttempt, setEngineAttempt] = useState(0);
  const engine = useEngine(backend, 'short', engineAttempt);
  const [camera, setCamera] = useState<CameraState>({ kind: 'starting' });
  const [paused, setPaused] = useState(false);
  const [hidden, setHidden] = useState(false);
  const [smoothing, setSmoothing] = useState(true);
  const smoothingRef = useRef(smoothing);
  smoothingRef.current = smoothing;
  // A selfie view: the video is mirrored by CSS; boxes are drawn mirrored, their text is not.
  const [mirror, setMirror] = useState(true);
  const mirrorRef = useRef(mirror);
  mirrorRef.current = mirror;
  const [shown, setShown] = useState<Shown | null>(null);
  const [firstMs, setFirstMs] = useState<number | null>(null);
  // The last error of the frame loop, shown until a frame succeeds again.
  const [frameError, setFrameError] = useState<string | null>(null);

  const stopCamera = useCallback(() => {
    streamRef.current?.getTracks().forEach((t) => {
      t.onended = null;
      t.stop();
    });
    streamRef.current = null;
  }, []);

  const startCamera = useCallback(async () => {
    stopCamera();
    if (!navigator.mediaDevices?.getUserMedia) {
      setCamera({ kind: 'unsupported' });
      return;
    }
    setCamera({ kind: 'starting' });
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
      streamRef.current = stream;
      const [track] = stream.getVideoTracks();
      if (track) track.onended = () => setCamera({ kind: 'unplugged' });
      const video = videoRef.current;
      if (video) {
        video.srcObject = stream;
        await video.play().catch(() => undefined);
      }
      setCamera({ kind: 'live' });
    } catch (e) {
      setCamera(cameraError(e));
    }
  }, [stopCamera]);

  // Camera: start once, stop on unmount; reconnect when a device appears after a loss.
  useEffect(() => {
    void startCamera();
    return stopCamera;
  }, [startCamera, stopCamera]);
  useEffect(() => {
    if (camera.kind !== 'unplugged' && camera.kind !== 'no-camera') return;
    const md = navigator.mediaDevices;
    const retry = () => void startCamera();
    md?.addEventListener('devicechange', retry);
    return () => md?.removeEventListener('devicechange', retry);
  }, [camera.kind, startCamera]);

  // A background tab gets no frames worth analysing: pause, and resume when visible again.
  useEffect(() => {
    const onVisibility = () => setHidden(document.visibilityState === 'hidden');
    onVisibility();
    document.addEventListener('visibilitychange', onVisibility);
    return () => document.removeEventListener('visibilitychange', onVisibility);
  }, []);

  useEffect(() => {
    const video = videoRef.current;
    if (!video || camera.kind !== 'live') return;
    if (paused) video.pause();
    else void video.play().catch(() => undefined);
  }, [paused, camera.kind]);

  // The frame loop: one frame in flight at a time, analysed in the worker.
  const running = engine.kind === 'ready' && camera.kind === 'live' && !paused && !hidden;
  useEffect(() => {
    if (!running || engine.kind !== 'ready') return;
    let stop = false;
    const video = videoRef.current;
    const canvas = canvasRef.current;
    if (!video || !canvas) return;
    void (async () => {
      while (!stop) {
        if (video.readyState < 2 || video.videoWidth === 0) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        let result;
        try {
          const bitmap = await createImageBitmap(video);
          result = await engine.engine.analyzeFrame(bitmap, smoothingRef.current);
        } catch (e) {
          if (stop) return;
          setFrameError(e instanceof Error ? e.message : String(e));
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        if (stop) return;
        setFrameError(null);
        if (canvas.width !== result.width || canvas.height !== result.height) {
          canvas.width = result.width;
          canvas.height = result.height;
        }
        const ctx = canvas.getContext('2d');
        if (ctx) {
          ctx.clearRect(0, 0, canvas.width, canvas.height);
          drawFaces(ctx, result.faces, mirrorRef.current ? { mirrorWidth: canvas.width } : {});
        }
        const s = result.stats;
        setShown({ faces: result.faces, fps: s.fps, p50: s.p50, ms: result.ms, frames: s.frames, skipFrames: s.skipFrames });
        setFirstMs((v) => v ?? performance.now());
        window.__emodetect = {
          backend: engine.engine.info.backend,
          firstPredictionMs: window.__emodetect?.firstPredictionMs ?? performance.now(),
          frames: s.frames,
          fps: s.fps,
          p50: s.p50,
          faces: result.faces.map((f) => ({ box: f.box, emotion: f.emotion, confidence: f.probabilities[f.emotion] })),
        };
        // Yield to the page between frames so that it stays responsive.
        await new Promise((r) => requestAnimationFrame(r));
      }
    })();
    return () => {
      stop = true;
    };
  }, [running, engine]);

  const cameraProblem = camera.kind !== 'starting' && camera.kind !== 'live';
  const [title, detail] =
    camera.kind === 'error' ? ['The camera could not start.', camera.message] : cameraProblem ? CAMERA_MESSAGES[camera.kind] : ['', ''];

  return (
    <div>
      <div className="toolbar">
        <label>
          Backend
          <select data-testid="backend" value={backend ?? 'auto'} onChange={(e) => setBackend(e.target.value as BackendName)}>
            {BACKEND_CHOICES.map((b) => (
              <option key={b.value} value={b.value}>
                {b.label}
              </option>
            ))}
          </select>
        </label>
        <button data-testid="pause" onClick={() => setPaused((p) => !p)} disabled={camera.kind !== 'live'}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <label>
          <input type="checkbox" data-testid="smoothing" checked={smoothing} onChange={(e) => setSmoothing(e.target.checked)} />
          Smooth labels over time
        </label>
        <label>
          <input type="checkbox" data-testid="mirror" checked={mirror} onChange={(e) => setMirror(e.target.checked)} />
          Mirror
        </label>
        <span className="status" data-testid="status">
          {engine.kind === 'loading' && 'Loading the models…'}
          {engine.kind === 'ready' && (
            <>
              backend <b data-testid="active-backend">{engine.engine.info.backend}</b>
              {shown && (
                <>
                  {' '}
                  · <span data-testid="fps">{shown.fps.toFixed(1)}</span> FPS · {shown.p50.toFixed(0)} ms per frame (p50)
                  {shown.skipFrames > 0 && <> · faces found on 1 frame in {shown.skipFrames + 1}</>}
                </>
              )}
              {firstMs !== null && <> · first prediction {(firstMs / 1000).toFixed(1)} s after page load</>}
              {paused && ' · paused'}
              {hidden && ' · paused while the tab is in the background'}
            </>
          )}
        </span>
      </div>

      {engine.kind === 'error' && (
        <div className="message error" role="alert" data-testid="engine-error">
          <strong>The models could not start on this backend.</strong>
          {engine.message}{' '}
          <button onClick={() => (backend === 'auto' ? setEngineAttempt((a) => a + 1) : setBackend('auto'))}>
            {backend === 'auto' ? 'Retry' : 'Use auto'}
          </button>
        </div>
      )}
      {cameraProblem && (
        <div className="message error" role="alert" data-testid="camera-error" data-kind={camera.kind}>
          <strong>{title}</strong>
          {detail}{' '}
          <button className="primary" onClick={() => void startCamera()}>
            Retry
          </button>{' '}
          <a href="/image">Image mode</a>
        </div>
      )}
      {frameError && (
        <div className="message error" role="alert" data-testid="frame-error">
          <strong>A frame could not be analysed.</strong>
          {frameError} The page keeps trying; switching the backend may help.
        </div>
      )}
      {camera.kind === 'starting' && <p className="status">Waiting for the camera (allow access when the browser asks)…</p>}

      <div className="stage">
        <div className="viewport" style={{ display: camera.kind === 'live' ? undefined : 'none' }}>
          <video ref={videoRef} muted playsInline data-testid="video" style={mirror ? { transform: 'scaleX(-1)' } : undefined} />
          <canvas ref={canvasRef} className="overlay" data-testid="overlay" />
        </div>
        <div className="faces" data-testid="faces">
          {camera.kind === 'live' && shown && <FaceList faces={shown.faces} empty="No face in view." />}
        </div>
      </div>
    </div>
  );
}
