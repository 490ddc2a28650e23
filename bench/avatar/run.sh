#!/usr/bin/env bash
# Avatar pipeline benchmark.
#
# Measures the job an avatar upload does (decode, centre-crop to a square, resize to 256x256,
# encode as JPEG quality 85) on four generated 12-megapixel inputs: a baseline JPEG, the same
# photo as a progressive JPEG, a PNG and a WebP. Three tools do the job, one process per
# image, each pinned to one core:
#   ours           app/examples/avatar_bench.rs, calling backend::avatar::pipeline
#   vipsthumbnail  libvips, with JPEG shrink-on-load (the speed target)
#   imagemagick    convert -thumbnail, with the jpeg:size hint so it shrinks JPEGs on load too
# For each tool and input it prints the median wall time of RUNS runs (after one warm-up) and
# the highest peak resident memory seen, and each time as a ratio of vips's.
#
# Usage: bench/avatar/run.sh [RUNS]     (default 11)
# Installs libvips-tools, imagemagick and time from Debian if they are missing. Inputs are
# made locally (nothing is downloaded) in a temporary directory that is removed afterwards.
set -euo pipefail

runs=${1:-11}
root=$(cd "$(dirname "$0")/../.." && pwd)

# --- Tools -----------------------------------------------------------------------------------
missing=()
command -v vipsthumbnail >/dev/null && command -v vips >/dev/null || missing+=(libvips-tools)
# Look for the real convert: a machine may have a stand-in of that name earlier in PATH.
command -v magick >/dev/null || [[ -x /usr/bin/convert ]] || missing+=(imagemagick)
[[ -x /usr/bin/time ]] || missing+=(time)
command -v taskset >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
    sudo=$([[ $(id -u) == 0 ]] || echo sudo)
    echo "Installing ${missing[*]} ..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
if command -v magick >/dev/null; then # ImageMagick 7
    magick=(magick)
else
    magick=(/usr/bin/convert)
fi

echo "Building the pipeline (release) ..."
(cd "$root" && cargo build --quiet --release -p app --features ssr --example avatar_bench)
ours="${CARGO_TARGET_DIR:-$root/target}/release/examples/avatar_bench"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- Inputs ----------------------------------------------------------------------------------
# A plasma fractal, slightly blurred, with sensor-like noise: smooth gradients plus fine detail,
# so it compresses like a photo (about 3.5 MB as a quality-92 JPEG).
echo "Generating 4000x3000 inputs in $work ..."
"${magick[@]}" -seed 42 -size 4000x3000 plasma:fractal -blur 0x1 -attenuate 0.4 \
    +noise Gaussian -sampling-factor 2x2 -quality 92 "$work/photo-baseline.jpg"
"${magick[@]}" "$work/photo-baseline.jpg" -sampling-factor 2x2 -quality 92 -interlace JPEG \
    "$work/photo-progressive.jpg"
vips copy "$work/photo-baseline.jpg" "$work/photo.png"
vips copy "$work/photo-baseline.jpg" "$work/photo.webp[Q=85]"
inputs=(photo-baseline.jpg photo-progressive.jpg photo.png photo.webp)
tools=(ours vipsthumbnail imagemagick)

# --- Measuring -------------------------------------------------------------------------------
# Runs one tool on one input: prints "<wall microseconds> <peak RSS KB>". The time includes
# starting the process, as it does for the command-line tools.
run_once() {
    local tool=$1 input=$2 out="$work/out-$1.jpg" cmd
    case $tool in
        ours) cmd=("$ours" "$input" "$out") ;;
        vipsthumbnail)
            cmd=(vipsthumbnail "$input" -s 256x256 --smartcrop centre -o "${out}[Q=85,strip]") ;;
        imagemagick)
            cmd=("${magick[@]}" -define jpeg:size=512x512 "$input" -auto-orient
                -thumbnail 256x256^ -gravity center -extent 256x256 -quality 85 "$out") ;;
    esac
    local start end
    start=$(date +%s%N)
    if ! VIPS_CONCURRENCY=1 MAGICK_THREAD_LIMIT=1 OMP_NUM_THREADS=1 \
        /usr/bin/time -f %M -o "$work/rss" taskset -c 0 "${cmd[@]}" 2>"$work/stderr"; then
        echo "$tool failed on $input:" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    end=$(date +%s%N)
    echo "$(((end - start) / 1000)) $(tail -n 1 "$work/rss")"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
maximum() { sort -n | tail -n 1; }

row='%-22s %-14s %10s %9s %8s\n'
# shellcheck disable=SC2059 # the format is ours
printf "\n$row" input tool "median ms" "peak MB" "vs vips"
target_met=yes
for input in "${inputs[@]}"; do
    declare -A ms=() peak=()
    for tool in "${tools[@]}"; do
        run_once "$tool" "$work/$input" >/dev/null # warm-up, and a check of the output
        out="$work/out-$tool.jpg"
        size=$(vipsheader -f width "$out")x$(vipsheader -f height "$out")
        [[ $size == 256x256 ]] || echo "warning: $tool made a $size image from $input" >&2

        : >"$work/samples"
        for ((i = 0; i < runs; i++)); do run_once "$tool" "$work/$input" >>"$work/samples"; done
        ms[$tool]=$(cut -d' ' -f1 "$work/samples" | median)
        peak[$tool]=$(cut -d' ' -f2 "$work/samples" | maximum)
    done
    for tool in "${tools[@]}"; do
        # shellcheck disable=SC2059
        printf "$row" "$input" "$tool" \
            "$(awk -v us="${ms[$tool]}" 'BEGIN { printf "%.1f", us / 1000 }')" \
            "$(awk -v kb="${peak[$tool]}" 'BEGIN { printf "%.1f", kb / 1024 }')" \
            "$(awk -v us="${ms[$tool]}" -v vips="${ms[vipsthumbnail]}" \
                'BEGIN { printf "%.2fx", us / vips }')"
    done
    # The targets are for JPEG: no slower than vips, and at most 64 MB.
    if [[ $input == *.jpg ]] &&
        ((ms[ours] > ms[vipsthumbnail] || peak[ours] > 64 * 1024)); then
        target_met=no
    fi
    unset ms peak
done
echo
echo "One process per image, pinned to CPU 0 (taskset), VIPS_CONCURRENCY=1,"
echo "MAGICK_THREAD_LIMIT=1; median of $runs runs after a warm-up; peak = highest max RSS."
echo "Target for the JPEG inputs (ours at most 1.0x vips and 64 MB) met: $target_met"
