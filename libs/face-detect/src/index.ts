/**
 * @emodetect/face-detect: faces in an image, as plain typed data. Detection is MediaPipe's BlazeFace (short range by default, full range as an option)
 * through @tensorflow-models/face-detection on the active tfjs backend, in Node or the browser.
 * The model files never come from a hub: Node reads them from the @emodetect/detector-weights package
 * (`@emodetect/face-detect/node`); a browser app serves them and passes their URL.
 */
export * from './types.ts';
export { createFaceDetector, imageToTensor } from './detector.ts';
export { combineDetectors, tileDetector, type TileOptions } from './compose.ts';
export { iou, mergeFaces } from './boxes.ts';
