#!/usr/bin/env bash
# Prepare what a training run on the lent GPU machine needs (see ../shared/GPU.md):
#   .gpu/       the trainer bundled into one file, wasm binaries, node, Dawn (webgpu), Vulkan loader debs
#   .gpu-data/  FER2013 in its compact form (send it in a first call; it does not fit beside node)
# Both folders are ignored by git. Run from anywhere: bash tools/gpu/bundle.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
mkdir -p .gpu .gpu-data .git/info
for d in .gpu .gpu-data; do grep -qx "/$d/" .git/info/exclude 2>/dev/null || echo "/$d/" >> .git/info/exclude; done

echo "bundling the trainer…"
npx esbuild apps/trainer/src/entry.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile=.gpu/emodetect.mjs --external:webgpu --external:@tensorflow/tfjs-node --log-level=warning \
  "--banner:js=import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm .gpu/
cp tools/gpu/run.sh .gpu/

if [ ! -f .gpu/node.xz ]; then
  echo "compressing node…"
  xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
fi

if [ ! -f .gpu/dawn.node.xz ]; then
  echo "fetching the webgpu package (Dawn) from the npm registry…"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack webgpu@0.6.2 --silent >/dev/null && tar xzf webgpu-0.6.2.tgz)
  mkdir -p .gpu/webgpu
  cp "$tmp/package/package.json" "$tmp/package/index.js" .gpu/webgpu/
  xz -T2 -6 -c "$tmp/package/dist/linux-x64/dawn.node" > .gpu/dawn.node.xz
  rm -rf "$tmp"
fi

if ! ls .gpu/*.deb >/dev/null 2>&1; then
  echo "downloading the Vulkan loader (Debian packages)…"
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gpu && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 libx11-6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 libxext6)
fi

data="${FER2013_DIR:-$root/../shared/data/fer2013}/fer2013.u8.xz"
[ -f .gpu-data/fer2013.u8.xz ] || cp "$data" .gpu-data/

du -sh .gpu .gpu-data
cat <<'TXT'
Ready. On the device (two calls within ~30 s of each other, see ../shared/GPU.md):
  1. carry [".gpu-data"]:  mkdir -p /tmp/emo && xz -d -c .gpu-data/fer2013.u8.xz > /tmp/emo/fer2013.u8
  2. carry [".gpu"]:       bash .gpu/run.sh train --data /tmp/emo/fer2013.u8 --arch large --epochs 60 --backend webgpu
TXT
