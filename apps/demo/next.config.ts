import type { NextConfig } from 'next';

const config: NextConfig = {
  // The workspace libraries are TypeScript sources; Next compiles them with the app.
  transpilePackages: ['@emodetect/backend', '@emodetect/face-detect', '@emodetect/model', '@emodetect/preprocess', '@emodetect/realtime'],
  // `nx run-many -t typecheck` checks types; the build only compiles.
  typescript: { ignoreBuildErrors: true },
  devIndicators: false,
  async headers() {
    // Model, detector and wasm files: cached by the browser after the first visit.
    return [{ source: '/assets/:path*', headers: [{ key: 'Cache-Control', value: 'public, max-age=86400' }] }];
  },
};

export default config;
