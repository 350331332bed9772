#!/usr/bin/env bash
# Creates, once, a Python venv with Stripe's official library at a pinned
# version, and prints the venv's python path as the last line of stdout.
#
# Used by the Rust tests that compare vault-stripe with the official library
# (the API client's requests; later the webhook signature headers). It is
# idempotent and fast once set up: a stamp file records the installed
# version, so a second run only checks that the stamp and the python exist.
#
# Environment:
#   STRIPE_PY_VENV    where the venv lives (default: <cargo target dir>/stripe-venv)
#   STRIPE_PY_PYTHON  the interpreter that creates the venv (default: python3)
#
# Exit status: 0 with the python path on stdout; 3 when Python, its venv
# module or pip (the package index) is not available here, with the reason
# on stderr; anything else is a bug in this script.
set -euo pipefail

# The pinned version of https://pypi.org/project/stripe/ . Its default
# API version must equal vault_stripe::client::STRIPE_API_VERSION; the
# Python scripts set stripe.api_version explicitly all the same.
STRIPE_PY_VERSION="16.1.0"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/../../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$workspace/target}"
venv="${STRIPE_PY_VENV:-$target_dir/stripe-venv}"
py="$venv/bin/python"
stamp="$venv/.vault-stripe-py-$STRIPE_PY_VERSION"

unavailable() {
    echo "setup_venv.sh: unavailable: $*" >&2
    exit 3
}

# Fast path, without the lock: already set up.
if [[ -x "$py" && -f "$stamp" ]]; then
    echo "$py"
    exit 0
fi

mkdir -p "$(dirname "$venv")"
# Tests run in parallel threads and binaries: one setup at a time.
lock="$venv.lock"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$lock"
    flock 9
fi

if [[ -x "$py" && -f "$stamp" ]]; then
    echo "$py"
    exit 0
fi

python="${STRIPE_PY_PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || unavailable "no $python on PATH"

if [[ ! -x "$py" ]]; then
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2 || unavailable "$python -m venv failed (is the venv module installed?)"
fi
"$py" -m pip --version >/dev/null 2>&1 || unavailable "the venv has no pip"

"$py" -m pip install --quiet --disable-pip-version-check --no-input \
    "stripe==$STRIPE_PY_VERSION" >&2 \
    || unavailable "pip install stripe==$STRIPE_PY_VERSION failed (no package index?)"

installed="$("$py" -c 'import stripe; print(stripe.VERSION)')"
[[ "$installed" == "$STRIPE_PY_VERSION" ]] \
    || { echo "setup_venv.sh: installed stripe $installed, expected $STRIPE_PY_VERSION" >&2; exit 1; }

rm -f "$venv"/.vault-stripe-py-*
touch "$stamp"
echo "$py"
