# shellcheck shell=bash
# apt_run CMD...: runs an apt-get command, waiting (bounded) while another process holds the
# dpkg/apt lock, instead of failing with apt's rc=100. Sourced by scripts/setup.sh.
#   TOKENHEAT_APT_WAIT   seconds to wait for the lock in all (default 600)
#   TOKENHEAT_APT_POLL   seconds between tries (default 5)
apt_run() {
  local wait=${TOKENHEAT_APT_WAIT:-600} poll=${TOKENHEAT_APT_POLL:-5}
  local start=$SECONDS log rc said=
  log=$(mktemp)
  while :; do
    # DPkg::Lock::Timeout makes apt itself wait for the dpkg frontend lock; the loop also
    # covers the lists lock of `apt-get update`, which that option does not.
    rc=0
    "$@" -o "DPkg::Lock::Timeout=$poll" 2>"$log" || rc=$?
    if [ "$rc" = 0 ] || ! grep -qE "Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock directory" "$log"; then
      cat "$log" >&2
      rm -f "$log"
      return "$rc"
    fi
    if [ $((SECONDS - start)) -ge "$wait" ]; then
      rm -f "$log"
      echo "setup: another process has held the apt/dpkg lock for ${wait}s ($(lock_holder));" \
        "let it finish (or stop it), then re-run; TOKENHEAT_APT_WAIT=<seconds> waits longer" >&2
      return 100
    fi
    if [ -z "$said" ]; then
      echo "setup: waiting for another package manager to release the apt/dpkg lock" \
        "($(lock_holder)); giving up after ${wait}s" >&2
      said=1
    fi
    sleep "$poll"
  done
}

lock_holder() {
  local pids
  pids=$(fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock 2>/dev/null | tr -s ' ' || true)
  if [ -n "${pids// /}" ]; then
    # shellcheck disable=SC2086
    echo "held by pid$(for p in $pids; do printf ' %s (%s)' "$p" "$(cat /proc/$p/comm 2>/dev/null || echo '?')"; done)"
  else
    echo "holder unknown"
  fi
}
