#!/usr/bin/env bash
# Render a deck to look at it: DECK.pptx -> OUTDIR/<deck>.pdf and OUTDIR/deck-1.png ... deck-N.png
# (the first N=5 pages, 1280 px wide). Needs LibreOffice Impress and poppler-utils (Debian:
# apt-get install -y --no-install-recommends libreoffice-impress poppler-utils); custseg itself
# and its tests do not.
#   scripts/render_deck.sh demo-output/report/deck.pptx /tmp/deck [PAGES]
set -euo pipefail
deck=${1:?usage: render_deck.sh DECK.pptx OUTDIR [PAGES]}
out=${2:?usage: render_deck.sh DECK.pptx OUTDIR [PAGES]}
pages=${3:-5}
command -v libreoffice >/dev/null || { echo "render_deck: needs libreoffice (apt-get install libreoffice-impress)" >&2; exit 2; }
command -v pdftoppm >/dev/null || { echo "render_deck: needs pdftoppm (apt-get install poppler-utils)" >&2; exit 2; }
mkdir -p "$out"
profile=$(mktemp -d)  # a fresh LibreOffice profile: no clash with a LibreOffice already open
trap 'rm -rf "$profile"' EXIT
libreoffice -env:UserInstallation="file://$profile" --headless --convert-to pdf --outdir "$out" "$deck" >/dev/null
pdf="$out/$(basename "${deck%.*}").pdf"
pdftoppm -png -r 96 -scale-to-x 1280 -scale-to-y -1 -f 1 -l "$pages" "$pdf" "$out/page"
for f in "$out"/page-*.png; do  # page-01.png -> deck-1.png
  n=${f##*/page-}; n=${n%.png}; mv "$f" "$out/deck-$((10#$n)).png"
done
echo "$pdf"; ls "$out"/deck-*.png
