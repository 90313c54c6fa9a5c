#!/usr/bin/env bash
# A runtime-only medlens environment (what `pip install medlens` gives a user: no
# training extras, so no torch), for measuring load time and memory as deployed.
# thinc imports torch at `import spacy` when torch is installed (+1.5 s), which the
# development venv has for training.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
env="$root/benchmarks/.envs/medlens-runtime"
marker="$env/.installed-$(sha1sum "$root/pyproject.toml" | cut -c1-12)"
[ -f "$marker" ] && exit 0
python3 -m venv "$env"
"$env/bin/python" -m pip install --quiet --upgrade pip
"$env/bin/python" -m pip install --quiet -e "$root"
touch "$marker"
