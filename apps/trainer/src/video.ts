/** Video files through ffmpeg (Debian: apt-get install ffmpeg): RGBA frames in, an MP4 out. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { DataError } from '@emodetect/preprocess/node';
import type { RgbaImage } from '@emodetect/preprocess';

export const VIDEO_EXTENSIONS = ['.mp4', '.webm', '.avi', '.mov', '.mkv', '.m4v', '.mpg', '.mpeg'] as const;

/** A Linux camera device. */
const isCamera = (input: string) => /^\/dev\/video\d+$/.test(input);

/** A live source rather than a file: a network stream (rtsp, rtmp, http, udp, tcp, srt) or a camera device. */
export function isStreamSource(input: string): boolean {
  return /^(rtsps?|rtmps?|https?|udp|tcp|srt):\/\//i.test(input) || isCamera(input);
}

/** ffmpeg's input options for a source: a Linux camera is read through v4l2. */
function inputArgs(source: string): string[] {
  return isCamera(source) ? ['-f', 'v4l2', '-i', source] : ['-i', source];
}

/** An ffmpeg message line without its `[demuxer @ 0x…]` prefixes. */
const unprefixed = (line: string) => line.replace(/^(\[[^\]]*\]\s*)+/, '');

/** ffmpeg's last message line, unprefixed ('' when it printed nothing). */
const lastLine = (stderr: string) => unprefixed(stderr.trim().split('\n').pop() ?? '');

export interface VideoInfo {
  width: number;
  height: number;
  fps: number;
  /** Frames expected at the requested rate (an estimate from the duration; 0 if unknown). */
  frames: number;
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const NO_FFMPEG = 'ffmpeg is needed to read videos and was not found (Debian/Ubuntu: apt-get install ffmpeg)';

/** Size, frame rate and length of a video, from ffprobe. */
export async function probeVideo(file: string, fps?: number): Promise<VideoInfo> {
  const r = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,r_frame_rate:format=duration',
    '-of',
    'json',
    ...inputArgs(file),
  ]).catch((e: NodeJS.ErrnoException) => {
    throw new DataError(e.code === 'ENOENT' ? `${file}: ${NO_FFMPEG}` : `${file}: ${e.message}`);
  });
  let parsed: { streams?: { width?: number; height?: number; r_frame_rate?: string }[]; format?: { duration?: string } };
  try {
    parsed = JSON.parse(r.stdout || '{}');
  } catch {
    parsed = {};
  }
  const s = parsed.streams?.[0];
  if (r.code !== 0 || !s?.width || !s.height) {
    const why = r.stderr.trim().split('\n').pop() || 'no video stream';
    throw new DataError(`${file}: not a readable video (${why})`);
  }
  const [num, den] = (s.r_frame_rate ?? '0/1').split('/').map(Number);
  const sourceFps = den ? num / den : 0;
  const rate = fps ?? sourceFps;
  const duration = Number(parsed.format?.duration ?? 0);
  return { width: s.width, height: s.height, fps: rate, frames: Math.round(duration * rate) };
}

/** The frames of a video or live source, as ffmpeg decodes them. */
export interface FrameReader {
  /** Size and rate: from ffprobe for a file, from ffmpeg's own output header for a live source. */
  info: Promise<VideoInfo>;
  frames: AsyncIterable<RgbaImage>;
  /** Why the frames ended early (corrupt, cut short, a failed source), or null. */
  error(): string | null;
  /** End a live source now (the user stopped it): not an error. */
  stop(): void;
  /** End ffmpeg if it still runs (after a failure elsewhere). */
  dispose(): void;
}

/**
 * Decode a video into RGBA frames (at `fps` when given). Yields frames until the video ends; a
 * video that is corrupt or cut short ends the iteration and `error()` then tells why. ffmpeg may
 * exit 0 on a truncated file, so any error it prints (it runs with `-v error`) counts, and so does
 * ending well short of the frame count the container declares. With `info` null (a live source:
 * a camera or a stream, opened once), the size and rate come from ffmpeg's output header.
 */
export function readFrames(file: string, known: VideoInfo | null, fps?: number): FrameReader {
  const live = known === null;
  const args = [
    ...(live ? ['-hide_banner', '-nostats', '-v', 'info'] : ['-v', 'error']),
    ...inputArgs(file),
    ...(fps ? ['-vf', `fps=${fps}`] : []),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgba',
    '-',
  ];
  let stopped = false;
  let stderr = '';
  let exitCode: number | null = null;
  let count = 0;
  const p: ChildProcessWithoutNullStreams = spawn('ffmpeg', args);
  const closed = new Promise<void>((resolve) => p.on('close', (code) => ((exitCode = code), resolve())));
  // Collected first: the header parser below reads what has arrived.
  p.stderr.on('data', (d) => (stderr += d));
  const info = new Promise<VideoInfo>((resolve, reject) => {
    if (known) return resolve(known);
    const onData = () => {
      const at = stderr.indexOf('Output #0');
      const m = at < 0 ? null : /Video: rawvideo.*?, (\d{1,5})x(\d{1,5})\b(?:.*?, ([\d.]+) fps)?/.exec(stderr.slice(at));
      if (!m) return;
      p.stderr.off('data', onData);
      resolve({ width: Number(m[1]), height: Number(m[2]), fps: fps ?? (Number(m[3]) || 25), frames: 0 });
    };
    p.stderr.on('data', onData);
    p.on('error', (e: NodeJS.ErrnoException) =>
      reject(new DataError(e.code === 'ENOENT' ? `${file}: ${NO_FFMPEG}` : `${file}: ${e.message}`)),
    );
    void closed.then(() => {
      reject(new DataError(`${file}: cannot be read as a video source (${lastLine(stderr) || `ffmpeg exited with code ${exitCode}`})`));
    });
  });
  // Keep a failed source's promise from being reported as unhandled before anyone awaits it.
  info.catch(() => undefined);
  p.on('error', () => undefined);
  async function* frames(): AsyncGenerator<RgbaImage> {
    const { width, height } = await info;
    const frameBytes = width * height * 4;
    let pending: Buffer[] = [];
    let have = 0;
    for await (const chunk of p.stdout as AsyncIterable<Buffer>) {
      pending.push(chunk);
      have += chunk.length;
      while (have >= frameBytes) {
        const all = Buffer.concat(pending);
        count++;
        yield { width, height, data: new Uint8Array(all.buffer, all.byteOffset, frameBytes) };
        const rest = all.subarray(frameBytes);
        pending = rest.length ? [Buffer.from(rest)] : [];
        have = rest.length;
      }
    }
    await closed;
  }
  return {
    info,
    frames: frames(),
    stop: () => {
      stopped = true;
      p.kill('SIGTERM');
    },
    dispose: () => {
      if (exitCode === null) p.kill('SIGTERM');
    },
    error: () => {
      if (stopped) return null;
      if (live) {
        if (exitCode === 0) return null;
        return `${lastLine(stderr) || `ffmpeg exited with code ${exitCode}`}; ${count} frames`;
      }
      const expected = known.frames;
      const printed = stderr.trim().split('\n').filter(Boolean);
      // The container's duration rounds: a frame or two short of it is a whole video.
      const short = expected > 0 && count < expected - Math.max(2, expected * 0.05);
      if (exitCode === 0 && printed.length === 0 && !short) return null;
      const line = printed.find((l) => /partial file|truncat/i.test(l)) ?? printed[0];
      const why = line && unprefixed(line).replace(/\.$/, '');
      return `${why || (exitCode ? `ffmpeg exited with code ${exitCode}` : 'the stream ended')}; ${count} of about ${expected} frames`;
    },
  };
}

/** An H.264 MP4 writer fed with RGBA frames. */
export function videoWriter(
  file: string,
  width: number,
  height: number,
  fps: number,
): { write(frame: Uint8Array): Promise<void>; close(): Promise<void> } {
  const p: ChildProcessWithoutNullStreams = spawn('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgba',
    '-s',
    `${width}x${height}`,
    '-r',
    String(fps || 25),
    '-i',
    '-',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-vf',
    'pad=ceil(iw/2)*2:ceil(ih/2)*2',
    file,
  ]);
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => p.on('close', resolve));
  return {
    write: (frame) => new Promise((resolve, reject) => p.stdin.write(frame, (e) => (e ? reject(e) : resolve()))),
    async close() {
      p.stdin.end();
      const code = await closed;
      if (code !== 0) throw new DataError(`${file}: could not write the video (${stderr.trim().split('\n').pop()})`);
    },
  };
}
