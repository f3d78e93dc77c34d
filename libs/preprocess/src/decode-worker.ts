/**
 * The image decoder's thread: decodes one file's bytes to RGBA at a time. It runs apart from the
 * caller so that a decoder that loops or stalls on a corrupt file can be stopped (see node.ts).
 */
import { parentPort } from 'node:worker_threads';
import { Jimp } from 'jimp';

export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
}

export type DecodeReply =
  { id: number; ok: true; width: number; height: number; data: Uint8Array } | { id: number; ok: false; message: string };

// Some decoders print warnings about corrupt files with console.log; in this thread that would
// reach the process's stdout (which may be --json output). Their errors are reported instead.
for (const k of ['log', 'info', 'warn', 'error', 'debug'] as const) console[k] = () => undefined;

parentPort!.on('message', async ({ id, bytes }: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    const img = await Jimp.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const { width, height, data } = img.bitmap;
    reply = { id, ok: true, width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    // Whatever a decoder throws (Error, RangeError, a string) is a problem with this file.
    reply = { id, ok: false, message: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
  }
  parentPort!.postMessage(reply, reply.ok ? [reply.data.buffer as ArrayBuffer] : []);
});
parentPort!.postMessage({ ready: true });
