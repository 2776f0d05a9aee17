#!/usr/bin/env bash
# Print the path of a working Python 3.10 for the Rasa environment: $RASA_PYTHON, else python3.10 on
# PATH, else pyenv's newest 3.10. Rasa 3.6 runs on nothing newer.
set -u
works() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }
candidates=("${RASA_PYTHON:-}" "$(command -v python3.10 2>/dev/null)")
if command -v pyenv >/dev/null 2>&1; then
  for p in $(ls -d "$(pyenv root)"/versions/3.10*/bin/python3.10 2>/dev/null | sort -rV); do candidates+=("$p"); done
fi
for p in "${candidates[@]}"; do
  if works "$p"; then echo "$p"; exit 0; fi
done
echo "orderbot needs Python 3.10 for Rasa 3.6: install it (e.g. 'pyenv install 3.10.13') or set RASA_PYTHON to a python3.10 binary." >&2
exit 1
