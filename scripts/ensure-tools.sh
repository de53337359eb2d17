# Sourced by the project's scripts: installs the Debian packages they need when missing (as root), or says which.
ensure_tools() {
  local missing=()
  local command package
  for pair in "$@"; do
    command=${pair%%:*}
    package=${pair#*:}
    if [[ $command == /* ]]; then
      [[ -e $command ]] || missing+=("$package")
    else
      command -v "$command" >/dev/null 2>&1 || missing+=("$package")
    fi
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing packages: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
    return 1
  fi
}
