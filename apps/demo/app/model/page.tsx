import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Markdown } from '../../src/markdown.tsx';

/** The bundled model's card, read at build time from the files the page itself serves. */
async function readCard(): Promise<{ card: string; base: string } | null> {
  const assets = path.join(process.cwd(), 'public', 'assets');
  try {
    const manifest = JSON.parse(await fs.readFile(path.join(assets, 'manifest.json'), 'utf8')) as { model: string };
    return { card: await fs.readFile(path.join(assets, manifest.model, 'MODEL_CARD.md'), 'utf8'), base: `/assets/${manifest.model}` };
  } catch {
    return null;
  }
}

export default async function ModelPage() {
  const found = await readCard();
  return (
    <article className="card">
      <h1>What the model can and cannot do</h1>
      <ul>
        <li>
          It labels a <strong>face crop</strong> with one of seven emotions: angry, disgust, fear, happy, sad, surprise, neutral. It sees a
          48x48 grayscale picture of the face, like the FER2013 images it learned from.
        </li>
        <li>
          It reads <strong>facial expressions, not feelings</strong>. A smile is not happiness; a neutral face is not calm. Do not use it to
          make decisions about people.
        </li>
        <li>
          <strong>Happy and surprise</strong> are its most reliable labels; <strong>disgust and fear</strong> its least. Its per-class
          numbers and confusion matrix are below.
        </li>
        <li>
          FER2013 was gathered by web image search: it has <strong>more young, light-skinned faces</strong> than others, posed and
          exaggerated expressions, and noisy labels (volunteers agree with them on only about two faces in three). Expect lower accuracy on
          under-represented groups, on spontaneous expressions, on profiles, and in poor light.
        </li>
        <li>
          The face detector (MediaPipe BlazeFace, short range) finds frontal faces within about two metres; small, far or turned faces are
          missed.
        </li>
      </ul>
      {found ? (
        <Markdown md={found.card} resolve={(src) => (/^[a-z]+:|^\//.test(src) ? src : `${found.base}/${src}`)} />
      ) : (
        <p className="message error">
          The model card was not found: run the demo&apos;s build (npm run build -w @emodetect/demo), which copies it.
        </p>
      )}
    </article>
  );
}
