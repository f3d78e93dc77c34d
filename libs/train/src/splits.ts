/** Choosing training / validation / test images from a dataset. */
import { Rng } from '@emodetect/augment';
import { splitIndices, type ImageDataset } from '@emodetect/preprocess';

/**
 * Stratified random split of `indices`: per class, `fraction` (rounded) goes to the second part.
 * Deterministic for a seed; both parts keep the input order.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  indices: readonly number[],
  fraction: number,
  seed: number,
): [number[], number[]] {
  const byClass = new Map<number, number[]>();
  for (const i of indices) {
    const list = byClass.get(labels[i]) ?? [];
    list.push(i);
    byClass.set(labels[i], list);
  }
  const rng = new Rng(seed);
  const second = new Set<number>();
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = rng.shuffle([...byClass.get(c)!]);
    const k = Math.round(list.length * fraction);
    for (let j = 0; j < k; j++) second.add(list[j]);
  }
  return [indices.filter((i) => !second.has(i)), indices.filter((i) => second.has(i))];
}

/** A stratified sample of `n` of `indices` (all of them when n >= their count). */
export function stratifiedSample(labels: ArrayLike<number>, indices: readonly number[], n: number, seed: number): number[] {
  if (n >= indices.length) return [...indices];
  return stratifiedSplit(labels, indices, n / indices.length, seed)[1];
}

export interface DataSplits {
  train: number[];
  val: number[];
  /** Human-readable description, e.g. "Training / PublicTest (official FER2013 splits)". */
  description: string;
}

const TRAIN_NAMES = ['training', 'train'];
const VAL_NAMES = ['publictest', 'val', 'validation', 'valid'];

/**
 * Training and validation indices: the dataset's own splits when it has them (FER2013: Training /
 * PublicTest; folders: train / val), else a stratified random 80/20 split of the training part.
 */
export function resolveSplits(ds: ImageDataset, seed: number, valFraction = 0.2): DataSplits {
  const find = (names: string[]) => ds.splitNames.find((s) => names.includes(s.toLowerCase()));
  const trainName = find(TRAIN_NAMES);
  const valName = find(VAL_NAMES);
  const all = Array.from({ length: ds.count }, (_, i) => i);
  const trainPart = trainName ? splitIndices(ds, trainName) : ds.splitNames.length === 1 ? all : [];
  if (trainPart.length === 0) {
    throw new Error(`no training split found (splits are: ${ds.splitNames.join(', ')}; expected one named ${TRAIN_NAMES.join(' or ')})`);
  }
  if (valName) {
    return { train: trainPart, val: splitIndices(ds, valName), description: `${trainName ?? 'all'} / ${valName}` };
  }
  const [train, val] = stratifiedSplit(ds.labels, trainPart, valFraction, seed);
  return {
    train,
    val,
    description: `stratified ${Math.round((1 - valFraction) * 100)}/${Math.round(valFraction * 100)} split of ${trainName ?? 'all images'} (seed ${seed})`,
  };
}

/** Indices of a split by name; `val` means the validation part that training uses. */
export function indicesForSplit(ds: ImageDataset, split: string, seed: number): number[] {
  if (split.toLowerCase() === 'val') return resolveSplits(ds, seed).val;
  const idx = splitIndices(ds, split);
  if (idx.length === 0) throw new Error(`split "${split}" not found (this dataset has: ${ds.splitNames.join(', ')}, val)`);
  return idx;
}
