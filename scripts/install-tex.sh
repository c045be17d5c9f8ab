#!/usr/bin/env bash
# Make sure TeX Live (pdflatex + latexmk) and pdftotext are there: derive compiles its PDFs with them.
set -euo pipefail
packages=(texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk poppler-utils)
if command -v latexmk >/dev/null && command -v pdflatex >/dev/null && command -v pdftotext >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "derive needs TeX Live for PDF output. Install the Debian packages:" >&2
  echo "  sudo apt-get install ${packages[*]}" >&2
  echo "(or any TeX distribution with pdflatex and latexmk, plus poppler's pdftotext for the tests)" >&2
  exit 1
fi
echo "Installing TeX Live (${packages[*]}) ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
