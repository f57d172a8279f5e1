#!/usr/bin/env bash
# The worked examples of README's "Moving a model to PyTorch and to ONNX Runtime",
# both halves: the JavaScript (examples/interop/*.mjs, on dist/) and the Python
# (examples/python/*.py, with Debian's /usr/bin/python3 and its torch and onnx).
#
#   bash scripts/interop/examples.sh            # runs everything in a temp directory and
#                                               # compares with the committed files and outputs
#   bash scripts/interop/examples.sh --update   # rewrites them in examples/python/
#
# `npm run examples:python` builds first, then runs this. `npm test` runs only
# the JavaScript half (test/examples.test.ts) and checks it against the same files.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
P=examples/python
update=0
[ "${1:-}" = --update ] && update=1
if [ "$update" = 1 ]; then out=$P; else out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
fail=0

# $1: the expected-output file; the command's stdout is compared with it (or written to it)
expect() {
  local want=$1; shift
  if [ "$update" = 1 ]; then "$@" > "$want"; echo "wrote $want"
  elif "$@" | diff -u "$want" -; then echo "ok: $*"
  else echo "FAILED: $* (expected $want)"; fail=1; fi
}
same() {
  if [ "$update" = 1 ]; then return; fi
  if cmp -s "$1" "$2"; then echo "ok: $2 is byte for byte $1"; else echo "FAILED: $2 differs from $1"; fail=1; fi
}

node examples/interop/to-pytorch.mjs "$out/lenet-wasmconv.safetensors" > /dev/null
same $P/lenet-wasmconv.safetensors "$out/lenet-wasmconv.safetensors"
expect $P/lenet_from_wasmconv.expected.txt $PY $P/lenet_from_wasmconv.py "$out/lenet-wasmconv.safetensors"
expect $P/train_ddp.expected.txt $PY $P/train_ddp.py --weights "$out/lenet-wasmconv.safetensors" --out "$out/lenet-ddp.safetensors"
same $P/lenet-ddp.safetensors "$out/lenet-ddp.safetensors"
node examples/interop/serve-onnx.mjs "$out/lenet-wasmconv.safetensors" "$out/lenet.onnx" > /dev/null
same $P/lenet.onnx "$out/lenet.onnx"
expect $P/check_onnx.expected.txt $PY $P/check_onnx.py "$out/lenet.onnx"
exit $fail
