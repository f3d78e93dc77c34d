#!/usr/bin/env bash
# Runs on the lent GPU machine, from the repository root: unpack node, Dawn and the Vulkan loader
# carried in .gpu/, then run the bundled emodetect CLI. Run folders and logs go under $OUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for f in "$here"/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
mkdir -p /tmp/emo/bin /tmp/emo/node_modules/webgpu/dist/linux-x64
[ -x /tmp/emo/bin/node ] || { xz -d -c "$here/node.xz" > /tmp/emo/bin/node; chmod +x /tmp/emo/bin/node; }
[ -f /tmp/emo/node_modules/webgpu/dist/linux-x64/dawn.node ] || {
  xz -d -c "$here/dawn.node.xz" > /tmp/emo/node_modules/webgpu/dist/linux-x64/dawn.node
  cp "$here/webgpu/package.json" "$here/webgpu/index.js" /tmp/emo/node_modules/webgpu/
}
cp "$here"/emodetect.mjs "$here"/*.wasm /tmp/emo/
cd /tmp/emo
out="${OUT:-/tmp/emo/out}"
mkdir -p "$out"
# The bundle resolves the optional `webgpu` package from /tmp/emo/node_modules.
extra=()
[ "${1:-}" = train ] && extra=(--out "$out/run")
/tmp/emo/bin/node /tmp/emo/emodetect.mjs "$@" "${extra[@]}" 2>&1 | tee "$out/log.txt"
