/**
 * Node entry point of @emodetect/preprocess: decoding image files (jimp) and reading datasets
 * from disk (FER2013 CSV / CSV.gz streamed, image folders, FER+ label files).
 */
export * from './index.ts';
export * from './image-files.ts';
export * from './fer2013-files.ts';
export * from './folders.ts';
