import { describe, expect, it } from 'vitest';
import { encodeY4m } from './index.ts';

function solid(w: number, h: number, rgb: [number, number, number]) {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], 4 * i);
  return { width: w, height: h, data };
}

describe('encodeY4m', () => {
  it('writes the header and, per frame, FRAME + Y + U + V planes in BT.601 limited range', () => {
    const bytes = encodeY4m([solid(4, 2, [255, 255, 255]), solid(4, 2, [0, 0, 0])], 10);
    const text = new TextDecoder('latin1').decode(bytes);
    expect(text.startsWith('YUV4MPEG2 W4 H2 F10:1 Ip A1:1 C420jpeg\nFRAME\n')).toBe(true);
    const header = 'YUV4MPEG2 W4 H2 F10:1 Ip A1:1 C420jpeg\n'.length;
    const frame = 6 + 8 + 2 + 2;
    expect(bytes.length).toBe(header + 2 * frame);
    const f0 = bytes.subarray(header + 6, header + frame);
    expect([...f0.subarray(0, 8)]).toEqual(Array(8).fill(235)); // white: Y 235
    expect([...f0.subarray(8)]).toEqual([128, 128, 128, 128]); // grey chroma
    const f1 = bytes.subarray(header + frame + 6, header + 2 * frame);
    expect([...f1.subarray(0, 8)]).toEqual(Array(8).fill(16)); // black: Y 16
  });

  it('puts red in V and blue in U', () => {
    const bytes = encodeY4m([solid(2, 2, [255, 0, 0]), solid(2, 2, [0, 0, 255])], 1);
    const header = 'YUV4MPEG2 W2 H2 F1:1 Ip A1:1 C420jpeg\n'.length;
    const red = bytes.subarray(header + 6, header + 12);
    expect(red[4]).toBeLessThan(128); // U
    expect(red[5]).toBe(240); // V: full red
    const blue = bytes.subarray(header + 12 + 6, header + 24);
    expect(blue[4]).toBe(240);
  });

  it('rejects odd sizes and mixed frame sizes with a clear message', () => {
    expect(() => encodeY4m([solid(3, 2, [0, 0, 0])], 1)).toThrow(/must be even/);
    expect(() => encodeY4m([solid(2, 2, [0, 0, 0]), solid(4, 2, [0, 0, 0])], 1)).toThrow(/frame of 4x2 in a 2x2 stream/);
    expect(() => encodeY4m([], 1)).toThrow(/no frames/);
  });
});
