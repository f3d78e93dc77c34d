import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Markdown } from '../../src/markdown.tsx';

interface Card {
  card: string;
  base: string;
  folder: string;
}

/** The bundled models' cards (photos' model and the live view's), read at build time from the files the page itself serves. */
async function readCards(): Promise<{ photos: Card; live: Card | null } | null> {
  const assets = path.join(process.cwd(), 'public', 'assets');
  try {
    const manifest = JSON.parse(await fs.readFile(path.join(assets, 'manifest.json'), 'utf8')) as { model: string; liveModel?: string };
    const read = async (folder: string): Promise<Card> => ({
      card: await fs.readFile(path.join(assets, folder, 'MODEL_CARD.md'), 'utf8'),
      base: `/assets/${folder}`,
      folder,
    });
    const photos = await read(manifest.model);
    const live = manifest.liveModel && manifest.liveModel !== manifest.model ? await read(manifest.liveModel).catch(() => null) : null;
    return { photos, live };
  } catch {
    return null;
  }
}

const resolver = (c: Card) => (src: string) => (/^[a-z]+:|^\//.test(src) ? src : `${c.base}/${src}`);

export default async function ModelPage() {
  const found = await readCards();
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
        <>
          <p>
            Photos (the Images page) use <code>{found.photos.folder}</code>, the most accurate model; the live webcam view uses{' '}
            {found.live ? (
              <>
                <code>{found.live.folder}</code>, a small model that keeps up with a camera (its card is at the end of this page).
              </>
            ) : (
              'the same model.'
            )}
          </p>
          <Markdown md={found.photos.card} resolve={resolver(found.photos)} />
          {found.live && (
            <details data-testid="live-card">
              <summary>The live model&apos;s card ({found.live.folder})</summary>
              <Markdown md={found.live.card} resolve={resolver(found.live)} />
            </details>
          )}
        </>
      ) : (
        <p className="message error">
          The model card was not found: run the demo&apos;s build (npm run build -w @emodetect/demo), which copies it.
        </p>
      )}
    </article>
  );
}
