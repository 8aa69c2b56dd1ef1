# Sourced by the scripts: project root, the venv's Python, and setup when the venv is missing or stale.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
export CPATH="$ROOT/.cache/python3.14/usr/include${CPATH:+:$CPATH}"
ensure_env() {
  if [ ! -x "$PY" ] || [ ! -f "$ROOT/.venv/.requirements.sha" ] \
     || [ "$(cat "$ROOT/requirements/test.txt" "$ROOT/requirements/develop.txt" | sha256sum)" \
          != "$(cat "$ROOT/.venv/.requirements.sha")" ]; then
    "$ROOT/scripts/setup"
  fi
}
# Run one of this checkout's tool modules from the caller's directory, so relative paths mean what the caller
# sees. -P keeps that directory off sys.path: a custom_components/ there (a Home Assistant config, another
# checkout) would otherwise be imported instead of this checkout's.
run_tool() {
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  exec "$PY" -P -m "$@"
}
