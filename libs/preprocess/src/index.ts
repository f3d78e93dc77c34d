/**
 * @emodetect/preprocess: isomorphic image preprocessing (grayscale, crop, resize, 0..1) and
 * in-memory datasets. File decoding and dataset readers are in `@emodetect/preprocess/node`.
 */
export * from './image.ts';
export * from './dataset.ts';
