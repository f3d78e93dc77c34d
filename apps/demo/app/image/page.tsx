import { ImageMode } from '../../src/components/ImageMode.tsx';

export default function ImagePage() {
  return <ImageMode />;
}
