#!/usr/bin/env bash
# Writes a 12 s sample video with known properties: three 4 s shots (testsrc2, smptebars, mandelbrot)
# at 25 fps, 1280x720 H.264, cuts at frames 100 and 200, stereo 1 kHz tone at -23 dBFS (AAC).
set -euo pipefail
out=${1:?usage: make-sample.sh OUT.mp4}
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=s=1280x720:r=25:d=4" \
  -f lavfi -i "smptebars=s=1280x720:r=25:d=4" \
  -f lavfi -i "mandelbrot=s=1280x720:r=25,trim=duration=4" \
  -f lavfi -i "aevalsrc=0.0707946*sin(2*PI*1000*t)|0.0707946*sin(2*PI*1000*t):s=48000:d=12" \
  -filter_complex "[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p[v]" \
  -map "[v]" -map 3:a -c:v libx264 -preset veryfast -crf 23 -c:a aac -b:a 192k -shortest "$out"
