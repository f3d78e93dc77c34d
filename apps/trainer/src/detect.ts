/** `emodetect detect`: faces and emotions in images and folders. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describeBackend, initNodeBackend, BACKEND_NAMES } from '@emodetect/backend/node';
import { CLI_BACKENDS, classifierRuntime, tfjsBackend, type CliBackend } from './native.ts';
import { createNodeFaceDetector } from '@emodetect/face-detect/node';
import { bundledModelDir } from '@emodetect/model/node';
import { decodeImageFileRgba, IMAGE_EXTENSIONS, DataError } from '@emodetect/preprocess/node';
import {
  createEmotionPipeline,
  createFrameLoop,
  faceJson,
  IMAGE_RECIPE,
  recipeDetector,
  recipeModels,
  resolveRecipe,
  VIDEO_RECIPE,
  type DetectorRecipe,
  type EmotionPipeline,
  type FaceResult,
} from '@emodetect/realtime';
import type { RgbaImage } from '@emodetect/preprocess';
import { choiceOption, intOption, numberOption, parseCommand } from './args.ts';
import { fileProblem, fsReason, UsageError } from './errors.ts';
import { Outputs, outputNames, writeAtomically } from './outputs.ts';
import { loadModelArg } from './eval.ts';
import { stderrLog, type Log } from './log.ts';
import { drawAnnotations, writeAnnotated } from './annotate.ts';
import { isStreamSource, probeVideo, readFrames, videoWriter, VIDEO_EXTENSIONS } from './video.ts';

export const DETECT_HELP = `emodetect detect <image|video|folder|glob|stream>... [options]

Find faces and classify the emotion of each. Folders are read one level deep; a glob may use *
and ? in its last part (quote it so the shell leaves it alone). Files that cannot be read are
reported one line each; the others are still processed, and the exit status is 1 at the end.
Videos (${VIDEO_EXTENSIONS.join(' ')}) need ffmpeg (Debian/Ubuntu: apt-get install ffmpeg); faces are
tracked across frames and their scores smoothed. A video that is corrupt or cut short keeps the
results up to that point. A live source works like a video, frame by frame as it comes: a camera
(/dev/video0) or a network stream (rtsp://, rtmp://, http(s)://, udp://, tcp://, srt://); with
--json each frame's line is written as soon as it is analysed, and Ctrl-C ends it cleanly (the
annotated MP4 is kept).

Options:
  --model <dir>        model folder (default: the bundled models/fer-base)
  --json               images: one JSON object {"files": [{"file", "faces": [{"box", "score", "emotion", "probabilities"}]}]};
                       videos: one JSON line per frame {"file", "frame", "time", "faces": [... with "track"]}
  --csv                one CSV row per face: file, frame, time, face, x, y, width, height, score, emotion, class probabilities
  --annotate <dir>     write each image, or each video as MP4, with boxes, labels and per-class bars into <dir>
                       (named after the input; inputs with the same name keep their subfolders). Never inside
                       an input folder, never over an input, never over an existing file without --overwrite
  --overwrite          let --annotate replace files that already exist
  --fps N              analyse videos at N frames per second (default: every frame)
  --skip-frames N      in videos, run the face detector on one frame in N + 1 and reuse its boxes (default 0)
  --min-face N         ignore faces narrower than N pixels (default 0)
  --max-faces N        at most N faces per image, largest first (default 10)
  --detector D         short | full | both: MediaPipe short range (default), full range, or both merged
                       (finds more faces, at the cost of both)
  --tiles N            also detect on N x N overlapping tiles, which finds small faces at N² + 1 times the
                       detector's cost; 0 = whole image only (default: 3 for images, 0 for videos)
  --refine on|off      with tiles: look again at each face the tiles propose, in a window twice its size,
                       which finds faces cut by the tiles and places boxes better, at one more detector
                       run per face (default: on for images, off for videos)
  --min-score X        drop detections scoring below X, 0.3..1 (default 0.65; lower finds more faces
                       and more false ones)
  --tta T              none | flip | views: test-time augmentation instead of the model's own (views: 14 shifted,
                       zoomed and mirrored views, 7x the cost of flip)
  --backend B          native | ${BACKEND_NAMES.join(' | ')} (default: auto; native classifies faces
                       when it is built, the face detector runs on the best tfjs backend)`;

/** A CSV field as RFC 4180 writes it: quoted (quotes doubled) when it holds a comma, quote or line break. */
export const csvCell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
/** A file name for one line of plain output: JSON-quoted when it holds control characters. */
const shown = (f: string) => (/[\u0000-\u001f\u007f]/.test(f) ? JSON.stringify(f) : f);

const isVideo = (f: string) => isStreamSource(f) || (VIDEO_EXTENSIONS as readonly string[]).includes(path.extname(f).toLowerCase());

/** Expand files, folders (one level) and simple globs (* and ? in the last part) into image files. */
export async function expandInputs(inputs: string[]): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  const isImage = (f: string) => ([...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS] as readonly string[]).includes(path.extname(f).toLowerCase());
  for (const input of inputs) {
    if (isStreamSource(input)) {
      files.push(input);
      continue;
    }
    const base = path.basename(input);
    if (/[*?]/.test(base)) {
      const dir = path.dirname(input);
      const re = new RegExp(
        `^${base
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      );
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      const matched = names.filter((n) => re.test(n)).sort();
      if (matched.length === 0) missing.push(`${input}: no file matches`);
      files.push(...matched.map((n) => path.join(dir, n)));
      continue;
    }
    const stat = await fs.stat(input).catch((e: NodeJS.ErrnoException) => e);
    if (stat instanceof Error) missing.push(`${input}: ${fsReason(stat) ?? 'cannot be read'}`);
    else if (stat.isDirectory()) {
      const names = (await fs.readdir(input)).filter(isImage).sort();
      if (names.length === 0) missing.push(`${input}: no images in this folder (${IMAGE_EXTENSIONS.join(' ')})`);
      files.push(...names.map((n) => path.join(input, n)));
    } else files.push(input);
  }
  return { files, missing };
}

interface VideoOptions {
  pipeline: EmotionPipeline;
  fps?: number;
  skipFrames: number;
  /** The annotated MP4 to write (claimed by the caller), or none. */
  annotated?: string;
  json: boolean;
  csvRows?: (file: string, frame: number, time: number, faces: ReturnType<typeof faceJson>[]) => void;
  log: Log;
}

/** Analyse a video frame by frame with tracking and smoothing; optionally write an annotated MP4. */
async function detectVideo(file: string, o: VideoOptions): Promise<void> {
  // A live source is opened once (a camera may not open twice) and runs until it ends or the user
  // stops it (Ctrl-C): then the frames so far count.
  const live = isStreamSource(file);
  const reader = readFrames(file, live ? null : await probeVideo(file, o.fps), o.fps);
  const info = await reader.info;
  const stop = () => {
    o.log.info(`${file}: stopping`);
    reader.stop();
  };
  if (live) process.once('SIGINT', stop);
  const loop = createFrameLoop(o.pipeline, { skipFrames: o.skipFrames });
  const out = o.annotated ?? null;
  let frame = 0;
  let faces = 0;
  const frames = async (writer: ReturnType<typeof videoWriter> | null) => {
    for await (const image of reader.frames) {
      const results = await loop.process(image);
      const time = Math.round((frame / (info.fps || 25)) * 1000) / 1000;
      const json = results.map((r) => ({ ...faceJson(r), track: r.trackId }));
      faces += results.length;
      if (o.json) process.stdout.write(JSON.stringify({ file, frame, time, faces: json }) + '\n');
      else o.csvRows?.(file, frame, time, json);
      if (writer) await writer.write((await drawAnnotations(image, results)).bitmap.data);
      frame++;
      o.log.progress(`${file}: frame ${frame}${info.frames ? `/${info.frames}` : ''}`, info.frames ? Math.min(1, frame / info.frames) : 0);
    }
  };
  try {
    if (!out) await frames(null);
    else
      await writeAtomically(out, async (tmp) => {
        const writer = videoWriter(tmp, info.width, info.height, info.fps || 25);
        await frames(writer);
        await writer.close();
      });
  } finally {
    process.off('SIGINT', stop);
    reader.dispose();
  }
  const s = loop.stats();
  const summary = `${file}: ${frame} frames, ${faces} faces, ${s.p50.toFixed(0)} ms/frame p50 (${s.p95.toFixed(0)} p95)${out ? `; annotated video ${out}` : ''}`;
  if (!o.json && !o.csvRows) process.stdout.write(summary + '\n');
  else o.log.info(summary);
  const err = reader.error();
  if (err) throw new DataError(`${file}: video ended early after ${frame} frames (${err}); results up to there were kept`);
  if (frame === 0) throw new DataError(`${file}: no frames could be decoded`);
}

export async function detectCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(
    'detect',
    argv,
    {
      model: { type: 'string' },
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
      annotate: { type: 'string' },
      'min-face': { type: 'string' },
      'max-faces': { type: 'string' },
      detector: { type: 'string' },
      tiles: { type: 'string' },
      refine: { type: 'string' },
      'min-score': { type: 'string' },
      fps: { type: 'string' },
      'skip-frames': { type: 'string' },
      backend: { type: 'string' },
      tta: { type: 'string' },
      overwrite: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length === 0) throw new UsageError('detect: name at least one image, folder or glob (see emodetect detect --help)');
  if (v.json && v.csv) throw new UsageError('detect: choose one of --json and --csv');
  // The options override the shared recipes for images and for videos (IMAGE_RECIPE, VIDEO_RECIPE).
  const common: Partial<DetectorRecipe> = {
    minFaceSize: v['min-face'] === undefined ? undefined : intOption('detect', 'min-face', v['min-face'], 0, 0),
    maxFaces: v['max-faces'] === undefined ? undefined : intOption('detect', 'max-faces', v['max-faces'], 10, 1),
    detector:
      v.detector === undefined ? undefined : choiceOption('detect', 'detector', v.detector, ['short', 'full', 'both'] as const, 'short'),
    tiles: v.tiles === undefined ? undefined : intOption('detect', 'tiles', v.tiles, 0, 0),
    refine: v.refine === undefined ? undefined : choiceOption('detect', 'refine', v.refine, ['on', 'off'] as const, 'on') === 'on',
    minScore: v['min-score'] === undefined ? undefined : numberOption('detect', 'min-score', v['min-score'], 0.65, 0.3, 1),
  };
  if (common.refine && common.tiles === 0) throw new UsageError('detect: --refine on needs tiles (--tiles 1 or more)');
  // Without tiles there is nothing to look at again: --tiles 0 turns the images' second look off.
  const imageRecipe = resolveRecipe(IMAGE_RECIPE, { ...common, refine: common.tiles === 0 ? false : common.refine });
  const videoRecipe = resolveRecipe(VIDEO_RECIPE, { ...common, refine: common.refine === true && (common.tiles ?? 0) > 0 });
  const backend = choiceOption<CliBackend>('detect', 'backend', v.backend, CLI_BACKENDS, 'auto');
  const skipFrames = intOption('detect', 'skip-frames', v['skip-frames'], 0, 0);
  const fps = v.fps === undefined ? undefined : numberOption('detect', 'fps', v.fps, 0, 0.01, 240);
  const log = stderrLog(Boolean(v.json || v.csv));

  const { files, missing } = await expandInputs(positionals);
  if (files.length === 0) throw new DataError(missing.join('; ') || 'no input images');
  let failed = missing.length;
  for (const m of missing) log.warn(m);
  // Every annotated file is claimed before any work: a refusal comes first, and nothing is half done.
  const annotated = new Map<string, string>();
  if (v.annotate) {
    const inputs = [...positionals.map((p) => (/[*?]/.test(path.basename(p)) ? path.dirname(p) : p)), ...(v.model ? [v.model] : [])];
    const outputs = new Outputs({ command: 'detect', inputs, overwrite: Boolean(v.overwrite) });
    const names = outputNames(files, (f) => (isVideo(f) ? '.mp4' : path.extname(f)));
    for (const f of files)
      annotated.set(f, await outputs.claim(path.join(v.annotate, names.get(f)!), `--annotate (for ${f})`, { file: true }));
  } else if (v.overwrite) throw new UsageError('detect: --overwrite applies to --annotate only');

  const info = await initNodeBackend({ backend: tfjsBackend(backend) });
  log.info(describeBackend(info));
  const model = await loadModelArg(v.model ?? bundledModelDir());
  if (v.tta) model.metadata.tta = choiceOption('detect', 'tta', v.tta, ['none', 'flip', 'views'] as const, model.metadata.tta);
  // The face detector stays on tfjs; the classifier runs natively when it can.
  log.info(classifierRuntime('detect', backend, model, log, 64));
  const needed = [...new Set([...recipeModels(imageRecipe), ...recipeModels(videoRecipe)])];
  const bases = Object.fromEntries(
    await Promise.all(
      needed.map(
        async (m) =>
          [
            m,
            await createNodeFaceDetector({
              model: m,
              maxFaces: Math.max(imageRecipe.maxFaces, videoRecipe.maxFaces, 10),
              minScore: imageRecipe.minScore,
            }),
          ] as const,
      ),
    ),
  );
  const pipelineFor = (r: DetectorRecipe) =>
    createEmotionPipeline(recipeDetector(bases, r), model, { maxFaces: r.maxFaces, minFaceSize: r.minFaceSize });
  const pipeline = pipelineFor(imageRecipe);
  const videoPipeline = pipelineFor(videoRecipe);

  const out: { file: string; faces: ReturnType<typeof faceJson>[]; error?: string }[] = [];
  if (v.csv)
    process.stdout.write(
      ['file', 'frame', 'time', 'face', 'x', 'y', 'width', 'height', 'score', 'emotion', ...model.metadata.labels].join(',') + '\n',
    );
  const csvRows = (file: string, frame: number | '', time: number | '', faces: ReturnType<typeof faceJson>[]) =>
    faces.forEach((f, k) => {
      const cells = [
        csvCell(file),
        frame,
        time,
        k,
        f.box.x,
        f.box.y,
        f.box.width,
        f.box.height,
        f.score,
        f.emotion,
        ...model.metadata.labels.map((l) => f.probabilities[l]),
      ];
      process.stdout.write(cells.join(',') + '\n');
    });
  const t0 = performance.now();
  for (const [i, file] of files.entries()) {
    log.progress(`${i + 1}/${files.length} ${file}`, i / files.length);
    if (isVideo(file)) {
      try {
        await detectVideo(file, {
          pipeline: videoPipeline,
          fps,
          skipFrames,
          annotated: annotated.get(file),
          json: Boolean(v.json),
          csvRows: v.csv ? csvRows : undefined,
          log,
        });
      } catch (e) {
        const message = fileProblem(e, annotated.get(file));
        if (message === null) throw e;
        failed++;
        log.warn(message);
      }
      continue;
    }
    let faces: FaceResult[];
    let image: RgbaImage;
    try {
      image = await decodeImageFileRgba(file);
      faces = await pipeline.detect(image);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      failed++;
      log.warn(e.message);
      out.push({ file, faces: [], error: e.message });
      continue;
    }
    const json = faces.map(faceJson);
    const target = annotated.get(file);
    // A file that cannot be written is one failure: the faces found are still reported.
    const writeError = target
      ? await writeAnnotated(image, faces, target).then(
          () => undefined,
          (e: unknown) => {
            const message = fileProblem(e, target);
            if (message === null) throw e;
            return message;
          },
        )
      : undefined;
    if (writeError) {
      failed++;
      log.warn(writeError);
    }
    out.push(writeError ? { file, faces: json, error: writeError } : { file, faces: json });
    if (v.csv) csvRows(file, '', '', json);
    else if (!v.json) {
      const desc = faces.length
        ? faces
            .map(
              (f) =>
                `${f.emotion} ${(100 * f.probabilities[f.emotion]).toFixed(0)}% at (${Math.round(f.box.x)}, ${Math.round(f.box.y)}, ${Math.round(f.box.width)}x${Math.round(f.box.height)})`,
            )
            .join('; ')
        : 'no face found';
      process.stdout.write(`${shown(file)}: ${desc}\n`);
    }
  }
  log.progress('done', 1);
  if (v.json && out.length) process.stdout.write(JSON.stringify({ files: out }) + '\n');
  const secs = (performance.now() - t0) / 1000;
  log.info(
    `${files.length - (failed - missing.length)} of ${files.length} files processed in ${secs.toFixed(1)} s${v.annotate ? `; annotated images in ${v.annotate}` : ''}${failed ? `; ${failed} failed` : ''}`,
  );
  for (const b of Object.values(bases)) b.dispose();
  return failed ? 1 : 0;
}
