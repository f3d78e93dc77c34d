import type { Metadata } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: 'emodetect: facial-expression emotion recognition in your browser',
  description: 'Live webcam emotion detection with a CNN trained on FER2013. Everything runs on your machine.',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="top">
          <strong>emodetect</strong>
          <nav>
            <Link href="/">Live</Link>
            <Link href="/image">Images</Link>
            <Link href="/model">About the model</Link>
          </nav>
          <span className="privacy">No frame leaves this machine: detection and classification run in your browser.</span>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
