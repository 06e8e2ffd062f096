#!/usr/bin/env bash
# Train the seven image-to-image ids side by side on one GPU, then measure each on its held-out part.
#
#   bash scripts/train_i2i.sh data runs/i2i 6:20      # DATA_ROOT OUT MAX_TIME (per run)
#
# DATA_ROOT holds faces/ and ph2/ (zoo data prepare faces, zoo data prepare ph2). The synthetic PWS
# and eczema folders are made first (seed 0).
# Each run stops at --steps or MAX_TIME, whichever comes first, and writes OUT/ID/model; the
# figures (zoo evaluate, on the held-out part) go to OUT/ID/report/ (report.json, examples.png), and
# the two CycleGANs' known-answer removal figures to OUT/ID/report-check/. The runs share
# the GPU: each step is bound by Python overhead, so several processes use it better than one.
set -euo pipefail
DATA=${1:?DATA_ROOT (with faces/ and ph2/)}
OUT=${2:?output folder}
MAX_TIME=${3:-6:00}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SYN="$OUT/synthetic"
mkdir -p "$OUT"
# STYLE=flat (default) draws the stains and eczema the embedded weights were trained on; STYLE=clinical
# the segmental stains and EASI-sign eczema of docs/synthetic-domains.md.
"${PYTHON:-python3}" "$HERE/scripts/make_domains.py" --faces "$DATA/faces" --ph2 "$DATA/ph2" --out "$SYN" \
    --size 128 --patch-size 128 --seed 0 --style "${STYLE:-flat}" > "$OUT/make_domains.log" 2>&1

COMMON=(--steps 20000 --max-time "$MAX_TIME" --checkpoint-every 1000 --sample-every 1000 --log-with none --no-progress)
# id | data | extra arguments
RUNS=(
  "cyclegan-pws|$SYN/pws-unpaired|--batch-size 4"
  "cyclegan-eczema|$SYN/eczema-unpaired|--batch-size 1"  # batch 4 did worse for it (see its model card)
  "pix2pix-pws|$SYN/pws-paired|--batch-size 4 --holdout 0.15"
  "eczema-remove|$SYN/eczema-masked|--batch-size 8 --holdout 0.1"
  "eczema-add|$SYN/eczema-masked|--batch-size 8 --holdout 0.1"
  "lesion-remove|$DATA/ph2|--batch-size 8 --holdout 0.15"
  "lesion-add|$DATA/ph2|--batch-size 8 --holdout 0.15"
  "lesion-remove-d2|$DATA/ph2|--batch-size 8 --holdout 0.15 --set d_layers=2"
)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
for run in "${RUNS[@]}"; do
  IFS='|' read -r name data extra <<< "$run"
  model=${name%-d2}
  # shellcheck disable=SC2086  # extra holds several arguments
  zoo train --model "$model" --data "$data" --out "$OUT/$name" "${COMMON[@]}" $extra > "$OUT/$name.log" 2>&1 &
done
wait
for run in "${RUNS[@]}"; do
  IFS='|' read -r name data extra <<< "$run"
  zoo evaluate "$OUT/$name/model" --data "$data" -o "$OUT/$name/report" --no-progress \
      > "$OUT/$name/report.log" 2>&1 || echo "$name: zoo evaluate failed (see $OUT/$name/report.log)"
done
# The CycleGANs' "remove" against a known answer: their B images, clean, under new stains / eczema.
for run in "cyclegan-pws|pws-removal-check" "cyclegan-eczema|eczema-removal-check"; do
  IFS='|' read -r name check <<< "$run"
  zoo evaluate "$OUT/$name/model" --data "$SYN/$check" --paired -o "$OUT/$name/report-check" \
      --no-progress > "$OUT/$name/report-check.log" 2>&1 || echo "$name: the known-answer check failed"
done
