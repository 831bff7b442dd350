#!/bin/bash
# Runs inside the kernel-test VM as root (see vm/run.sh): loads the IPVS and networking modules,
# turns on forwarding, then runs the compiled kernel tests one file at a time with the TAP
# reporter, so the closing "# pass N" / "# fail N" lines reach the host's stdout.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${LVSD_BUILD_DIR:-$repo/build}

modules=(ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_mh ip_vs_sed ip_vs_nq
         nf_conntrack nf_tables veth dummy ipip ip6_tunnel sctp)
modprobe -a "${modules[@]}" || { echo "guest: modprobe failed" >&2; exit 1; }
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.vs.conntrack=1 ||
  { echo "guest: sysctl failed" >&2; exit 1; }
rm -rf /vmout/logs && mkdir -p /vmout/logs
echo "guest: $(ipvsadm --version 2>&1 | head -1); $(nft --version); node $(node --version)"

# LVSD_GUEST_TESTS: the compiled test directory to run (default test/kernel; test/systemd for
# the systemd boot, see test/systemd/run.sh).
tests=${LVSD_GUEST_TESTS:-test/kernel}
files=("$build/$tests/")
if [ -n "${LVSD_KERNEL_ONLY:-}" ]; then
  files=()
  for f in "$build/$tests"/*.test.js; do
    for want in $LVSD_KERNEL_ONLY; do
      case "$(basename "$f")" in *"$want"*) files+=("$f"); break;; esac
    done
  done
  [ ${#files[@]} -gt 0 ] || { echo "guest: no kernel test matches '$LVSD_KERNEL_ONLY'" >&2; exit 1; }
fi
# LVSD_GUEST_NO_SYSTEM_NODE=1 (the systemd tier): the guest's root (a throw-away overlay on the
# host's) loses its nodejs before the tests run, so the .deb is installed and run where there is no
# system Node.js, as on a Debian 12 or Ubuntu director; the test runner keeps a private copy.
node=node
if [ -n "${LVSD_GUEST_NO_SYSTEM_NODE:-}" ]; then
  node=/opt/lvsd-test-runner/node
  install -D -m 0755 "$(readlink -f "$(command -v node)")" "$node" || exit 1
  # Not dpkg --purge, which takes minutes here (npm's 5,000 files under emulation): its programs go,
  # and dpkg forgets the package (its status paragraph dropped), so nothing that depends on nodejs
  # installs either.
  if dpkg-query -W -f='${Status}' nodejs 2>/dev/null | grep -q 'install ok installed'; then
    dpkg-query -L nodejs | grep -E '^/usr/(local/)?bin/' | xargs -r rm -f
    if ! awk -v RS= -v ORS='\n\n' '!($1 == "Package:" && $2 == "nodejs")' /var/lib/dpkg/status > /var/lib/dpkg/status.new ||
      ! mv /var/lib/dpkg/status.new /var/lib/dpkg/status; then
      echo "guest: cannot drop nodejs from dpkg's status" >&2; exit 1
    fi
    ! dpkg-query -W nodejs > /dev/null 2>&1 || { echo "guest: dpkg still knows nodejs" >&2; exit 1; }
  fi
  rm -f /usr/bin/node /usr/local/bin/node /usr/bin/nodejs
  hash -r
  if command -v node > /dev/null || command -v nodejs > /dev/null; then
    echo "guest: a node is still on PATH: $(command -v node nodejs)" >&2; exit 1
  fi
  echo "guest: no system node (the test runner runs $node)"
fi
# A test that hangs fails after 25 minutes (LVSD_GUEST_TEST_TIMEOUT_MS; the corpus differential file
# alone took 14 min at load 15-19) instead of taking the
# whole boot with it.
"$node" --test --test-concurrency=1 --test-timeout="${LVSD_GUEST_TEST_TIMEOUT_MS:-1500000}" --test-reporter=tap "${files[@]}"
