import type { NextConfig } from 'next';

/**
 * The page talks to its own origin only: models, detector and wasm files come from /assets, and
 * nothing (no image, no frame, no result) can be sent elsewhere (`connect-src 'self'`). Next's
 * hydration scripts are inline, tfjs compiles WebAssembly ('wasm-unsafe-eval'), frames become blob:
 * and data: images, and the camera stream is a mediastream: source.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob: mediastream:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = [
  { key: 'Content-Security-Policy', value: CSP },
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'no-referrer' },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Permissions-Policy', value: 'camera=(self), microphone=(), geolocation=(), payment=(), usb=()' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
];

const config: NextConfig = {
  // The workspace libraries are TypeScript sources; Next compiles them with the app.
  transpilePackages: ['@emodetect/backend', '@emodetect/face-detect', '@emodetect/model', '@emodetect/preprocess', '@emodetect/realtime'],
  // `nx run-many -t typecheck` checks types; the build only compiles.
  typescript: { ignoreBuildErrors: true },
  devIndicators: false,
  poweredByHeader: false,
  async headers() {
    return [
      { source: '/:path*', headers: SECURITY_HEADERS },
      // Model, detector and wasm files: cached by the browser after the first visit.
      { source: '/assets/:path*', headers: [{ key: 'Cache-Control', value: 'public, max-age=86400' }] },
    ];
  },
};

export default config;
