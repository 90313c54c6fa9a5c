#!/usr/bin/env bash
# Create the separate virtual environment that runs medspaCy for the
# side-by-side benchmarks: benchmarks/.envs/medspacy (gitignored).
#
# medspaCy pins spaCy < 3.8 and numpy < 2 and installs a top-level `tests`
# package, so it must never go into medlens's own environment.
#
# Idempotent: a marker file records the hash of requirements.lock; when it
# matches, nothing is done. Pass --force to rebuild from scratch.
#
# Environment: MEDSPACY_PYTHON  interpreter to build the venv from (default python3;
#                               must be Python 3.8-3.11, the lock is for spaCy 3.7)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
env_dir="$(cd "$here/.." && pwd)/.envs/medspacy"
lock="$here/requirements.lock"
marker="$env_dir/.medlens-bench-installed"
python="${MEDSPACY_PYTHON:-python3}"

if [[ "${1:-}" == "--force" ]]; then
    rm -rf "$env_dir"
fi

want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [[ -f "$marker" && "$(cat "$marker")" == "$want" && -x "$env_dir/bin/python" ]]; then
    echo "medspacy env up to date: $env_dir"
    exit 0
fi

if ! "$python" -c 'import sys; sys.exit(0 if (3, 8) <= sys.version_info[:2] < (3, 12) else 1)'; then
    echo "error: $python is $("$python" -V 2>&1); medspaCy 1.3.1 with spaCy 3.7 needs Python 3.8-3.11" \
         "(set MEDSPACY_PYTHON to such an interpreter)" >&2
    exit 1
fi

start=$SECONDS
rm -rf "$env_dir"
mkdir -p "$(dirname "$env_dir")"
"$python" -m venv "$env_dir"
# --no-deps would skip resolution; install with deps so pip verifies the lock is consistent.
"$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$lock"
"$env_dir/bin/python" -m pip check
"$env_dir/bin/python" -c 'import medspacy, spacy; print("medspacy", medspacy.__version__, "spacy", spacy.__version__)'
echo "$want" > "$marker"
echo "medspacy env ready in $((SECONDS - start)) s: $env_dir"
