/** Node entry point of @emodetect/model: save and load model folders atomically. */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { validateMetadata, type ModelMetadata } from './metadata.ts';
import { quantizeValues, type Quantization } from './quantize.ts';
import type { EmotionModel } from './index.ts';

export * from './index.ts';

/** A model folder that cannot be read; the message names the folder or file and the problem. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

const WEIGHTS_FILE = 'weights.bin';

/** The model used when none is named: shipped in the @emodetect/models package (the repository's `models/`). */
export const DEFAULT_MODEL_NAME = 'fer-base';
/** The small, quantised model for live video where speed matters (the demo's webcam view). */
export const LIVE_MODEL_NAME = 'fer-tiny';

/** Folder of a model shipped in the @emodetect/models package (the repository's `models/` folder). */
export function bundledModelDir(name: string = DEFAULT_MODEL_NAME): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('@emodetect/models/package.json')), name);
}

/**
 * Write `dir` as a complete model folder in one step: files go to a sibling temporary folder that
 * replaces `dir` by rename, so a crash leaves either the old folder or the new one, never a mix.
 * Extra files (e.g. optimizer state, a report) can be written into the same atomic step.
 */
export async function saveModelFolder(
  m: EmotionModel,
  dir: string,
  extraFiles: Record<string, string | Uint8Array> = {},
  quantize: Quantization = 'none',
): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  await fs.mkdir(parent, { recursive: true });
  const tmp = `${path.resolve(dir)}.tmp-${process.pid}-${Date.now()}`;
  await fs.mkdir(tmp);
  try {
    await m.model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weightData = artifacts.weightData;
        const raw = weightData instanceof ArrayBuffer ? weightData : tf.io.concatenateArrayBuffers(weightData ?? []);
        const { bytes, specs } = quantizeArtifacts(raw, artifacts.weightSpecs ?? [], quantize);
        const modelJson = {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
        };
        await fs.writeFile(path.join(tmp, 'model.json'), JSON.stringify(modelJson));
        await fs.writeFile(path.join(tmp, WEIGHTS_FILE), bytes);
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
    await fs.writeFile(path.join(tmp, 'metadata.json'), JSON.stringify(m.metadata, null, 2) + '\n');
    for (const [name, content] of Object.entries(extraFiles)) await fs.writeFile(path.join(tmp, name), content);
    await replaceDir(tmp, path.resolve(dir));
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Re-encode float32 weights with a quantisation (others are kept as they are). */
function quantizeArtifacts(
  data: ArrayBuffer,
  specs: tf.io.WeightsManifestEntry[],
  q: Quantization,
): { bytes: Uint8Array; specs: tf.io.WeightsManifestEntry[] } {
  if (q === 'none') return { bytes: new Uint8Array(data), specs };
  const parts: Uint8Array[] = [];
  const out: tf.io.WeightsManifestEntry[] = [];
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1) * bytesPer(spec.dtype, spec.quantization?.dtype);
    if (spec.dtype === 'float32' && !spec.quantization) {
      const r = quantizeValues(new Float32Array(data.slice(offset, offset + size)), q);
      parts.push(r.bytes);
      out.push({ ...spec, quantization: r.quantization });
    } else {
      parts.push(new Uint8Array(data.slice(offset, offset + size)));
      out.push(spec);
    }
    offset += size;
  }
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, specs: out };
}

/**
 * `exportModel`: write a copy of a model with quantised weights (uint8: about 4x smaller, float16:
 * 2x). The metadata records the quantisation; tfjs dequantises when it loads the weights.
 */
export async function exportModel(m: EmotionModel, dir: string, quantize: Quantization): Promise<void> {
  const metadata: ModelMetadata = { ...m.metadata, quantization: quantize === 'none' ? undefined : quantize };
  await saveModelFolder({ model: m.model, metadata }, dir, {}, quantize);
}

/**
 * Write `target` through a temporary sibling (same folder, same extension: encoders pick the
 * format from it): `write` fills the temporary path, which is then renamed into place. On any
 * failure the temporary is removed and `target` is untouched. A string is written as the content.
 */
export async function writeAtomically(target: string, write: string | ((tmp: string) => Promise<void>)): Promise<void> {
  const ext = path.extname(target);
  const tmp = path.join(path.dirname(target), `.${path.basename(target, ext)}.tmp-${process.pid}-${Date.now()}${ext}`);
  try {
    if (typeof write === 'string') await fs.writeFile(tmp, write);
    else await write(tmp);
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

/** Atomically put folder `from` in the place of `to` (which may exist). */
export async function replaceDir(from: string, to: string): Promise<void> {
  const old = `${to}.old-${process.pid}-${Date.now()}`;
  let moved = false;
  try {
    await fs.rename(to, old);
    moved = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await fs.rename(from, to);
  if (moved) await fs.rm(old, { recursive: true, force: true });
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelLoadError(`${file}: ${code === 'ENOENT' ? 'not found' : `cannot read (${code})`}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ModelLoadError(`${file}: not valid JSON`);
  }
}

/** Read only a model folder's metadata.json. */
export async function readMetadata(dir: string): Promise<ModelMetadata> {
  const file = path.join(dir, 'metadata.json');
  try {
    return validateMetadata(await readJson(file), file);
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError((e as Error).message);
  }
}

/** Load a model folder written by {@link saveModelFolder} (or any tfjs layers model + metadata.json). */
export async function loadModelFolder(dir: string): Promise<EmotionModel> {
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat) throw new ModelLoadError(`${dir}: model folder not found`);
  if (!stat.isDirectory())
    throw new ModelLoadError(`${dir}: not a folder (a model is a folder with model.json, weights and metadata.json)`);
  const metadata = await readMetadata(dir);
  const jsonFile = path.join(dir, 'model.json');
  const json = (await readJson(jsonFile)) as {
    modelTopology?: object;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelLoadError(`${jsonFile}: not a tfjs layers model (modelTopology or weightsManifest missing)`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      // Weight files live in the model folder: a path that leaves it is refused, never read.
      if (typeof p !== 'string' || path.isAbsolute(p) || path.normalize(p).split(path.sep).includes('..'))
        throw new ModelLoadError(`${jsonFile}: weight path ${JSON.stringify(p)} leaves the model folder`);
      const f = path.join(dir, p);
      buffers.push(
        await fs.readFile(f).catch(() => {
          throw new ModelLoadError(`${f}: weights file missing or unreadable`);
        }),
      );
    }
  }
  const all = Buffer.concat(buffers);
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * bytesPer(s.dtype, s.quantization?.dtype), 0);
  if (all.byteLength !== expected) {
    throw new ModelLoadError(
      `${dir}: weights are ${all.byteLength} bytes but model.json describes ${expected} (truncated or mismatched files)`,
    );
  }
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
  } catch (e) {
    throw new ModelLoadError(`${jsonFile}: cannot build the model (${(e as Error).message.split('\n')[0]})`);
  }
  // The metadata must describe this network: its input and one label per output.
  const inShape = model.inputs[0]?.shape ?? [];
  const outShape = model.outputs[0]?.shape ?? [];
  const { height, width, channels } = metadata.input;
  const problem =
    model.inputs.length !== 1 || model.outputs.length !== 1
      ? `the network has ${model.inputs.length} inputs and ${model.outputs.length} outputs (expected one of each)`
      : inShape.length !== 4 || inShape[1] !== height || inShape[2] !== width || inShape[3] !== channels
        ? `metadata.json says ${height}x${width}x${channels} faces but the network takes [${inShape.slice(1).join(', ')}]`
        : outShape.length !== 2 || outShape[1] !== metadata.labels.length
          ? `metadata.json names ${metadata.labels.length} labels but the network has ${outShape[outShape.length - 1]} outputs`
          : undefined;
  if (problem) {
    model.dispose();
    throw new ModelLoadError(`${dir}: ${problem}`);
  }
  return { model, metadata };
}

function bytesPer(dtype: string, quantized?: string): number {
  if (quantized === 'uint8') return 1;
  if (quantized === 'float16' || quantized === 'uint16') return 2;
  return dtype === 'bool' ? 1 : 4;
}
