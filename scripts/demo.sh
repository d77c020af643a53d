#!/usr/bin/env bash
# Generates a sample video (three shots, a 1 kHz tone at -23 dBFS), runs the default profile on it,
# audits the run and prints where the artifacts are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p .tmp
[ -f .tmp/sample.mp4 ] || bash scripts/make-sample.sh .tmp/sample.mp4
run_id="demo-$(date -u +%Y%m%dT%H%M%SZ)"
node bin/dataprocessor.js run .tmp/sample.mp4 --out result_store --video-id sample --run-id "$run_id"
run_dir="result_store/local/sample/$run_id"
node bin/dataprocessor.js audit "$run_dir"
echo
echo "artifacts: $(pwd)/$run_dir"
