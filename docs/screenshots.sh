#!/usr/bin/env bash
# Regenerates the README's pictures (docs/images/) from a fresh demo workspace, as a new user
# sees each view after `artha demo`: `bash docs/screenshots.sh [OUT_DIR]` (make screenshot).
# Every picture is rendered offscreen; the demo workspace is a temp folder, removed after.
# With OUT_DIR every view is pictured in both themes (to review them all); without it, the
# README's set goes to docs/images.
set -euo pipefail
cd "$(dirname "$0")/.."
ARTHA=${ARTHA:-.venv/bin/artha}
all_themes=0
out=docs/images
if [[ $# -gt 0 ]]; then out=$1; all_themes=1; fi
mkdir -p "$out"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export ARTHA_HOME=$home QT_QPA_PLATFORM=offscreen
"$ARTHA" demo > /dev/null
# the run history shows what a trader has tried: three runs, two of one idea
first=$("$ARTHA" data list | awk 'NR==2 {print $2}')
second=$("$ARTHA" data list | awk 'NR==3 {print $2}')
"$ARTHA" backtest --strategy sma_crossover --symbol "$first" > /dev/null
"$ARTHA" backtest --strategy sma_crossover --symbol "$first" --param fast=20 --param slow=60 > /dev/null
"$ARTHA" backtest --strategy momentum_breakout --symbol "$second" > /dev/null

shot() {  # shot NAME SIZE THEME [--show VIEW]
    local name=$1 size=$2 theme=$3
    shift 3
    "$ARTHA" --screenshot "$out/$name.png" --size "$size" --theme "$theme" "$@" > /dev/null
    echo "  $out/$name.png"
}
themes=(dark)
if [[ $all_themes == 1 ]]; then themes=(dark light); fi
for theme in "${themes[@]}"; do
    suffix=$([[ $theme == dark ]] && echo "" || echo "-light")
    shot "main-window$suffix" 1600x1000 "$theme"
    shot "chart$suffix" 1600x900 "$theme" --show chart
    shot "editor$suffix" 1400x820 "$theme" --show editor
    shot "wizard$suffix" 900x620 "$theme" --show wizard
    shot "results$suffix" 1500x900 "$theme" --show results
    shot "history$suffix" 1300x360 "$theme" --show history
    shot "data$suffix" 1300x760 "$theme" --show data
    shot "settings$suffix" 980x640 "$theme" --show settings
    shot "charges$suffix" 980x560 "$theme" --show charges
    shot "watchlist$suffix" 520x760 "$theme" --show watchlist
done
shot results-light 1500x900 light --show results
