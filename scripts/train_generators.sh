#!/usr/bin/env bash
# Train the noise-to-image ids (the recipes of their embedded weights), one after another.
#
#   bash scripts/train_generators.sh DATA_ROOT OUT [MAX_TIME] [IDS...]
#   bash scripts/train_generators.sh data runs/generators 20:00                 # all five, 20 min each
#   bash scripts/train_generators.sh data runs/generators 20:00 sngan-lesions   # one of them
#
# DATA_ROOT holds ham10000/ (images/ + labels.csv with dx and lesion_id) and dental/ (images/).
# The lesion ids hold out 10 % of HAM10000 split by lesion_id (split seed 0: the same 599 images for
# every id, listed in OUT/ID/heldout.txt), so `zoo evaluate OUT/ID/model --data DATA_ROOT/ham10000`
# scores them on lesions they never saw. The dental id holds out 20 % of its 80 images (16), enough
# for the memorization audit's baseline, not for a stable FID.
# Each run stops at --steps or MAX_TIME, whichever comes first, and writes OUT/ID/model.
set -euo pipefail
DATA=${1:?DATA_ROOT (with ham10000/ and dental/)}
OUT=${2:?output folder}
MAX_TIME=${3:-20:00}
shift $(( $# < 3 ? $# : 3 ))
IDS=("${@:-dcgan-lesions sngan-lesions acgan-lesions wgan-gp-dental ddpm-lesions}")
# shellcheck disable=SC2206  # the default list splits into ids
IDS=(${IDS[*]})

COMMON=(--steps 100000 --max-time "$MAX_TIME" --checkpoint-every 2000 --sample-every 1000 --log-with none
        --no-progress --seed 0)
LESIONS=(--data "$DATA/ham10000" --holdout 0.1 --group-column lesion_id --split-seed 0 --batch-size 32)
mkdir -p "$OUT"
for id in "${IDS[@]}"; do
  case "$id" in
    dcgan-lesions)  extra=("${LESIONS[@]}" --ema 0.999) ;;
    sngan-lesions)  extra=("${LESIONS[@]}" --ema 0.999) ;;
    acgan-lesions)  extra=("${LESIONS[@]}" --ema 0.999) ;;  # class-balanced draws by default
    ddpm-lesions)   extra=("${LESIONS[@]}" --ema 0.999) ;;  # the diffusion baseline: no discriminator
    wgan-gp-dental) extra=(--data "$DATA/dental" --holdout 0.2 --split-seed 0 --batch-size 16 --ema 0.999
                           --augment translation) ;;
    *) echo "unknown id $id" >&2; exit 2 ;;
  esac
  echo "$(date -u +%FT%TZ) training $id" >&2
  zoo train --model "$id" --out "$OUT/$id" "${COMMON[@]}" "${extra[@]}" > "$OUT/$id.log" 2>&1
done
