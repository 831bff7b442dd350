#!/bin/bash
# Capture real ipvsadm output (save, list, counters, -R errors) from a real kernel IPVS into test/fixtures/ipvs/.
#
# On the host: records what ipvsadm prints without IPVS, boots the QEMU VM (LVSD_VM_RUN, default the shared
# recipe's run.sh) with this same file as the guest script, then copies the guest's files into the fixtures.
# In the guest (detected by vmcmd= on the kernel command line) it builds the tables and writes to /vmout.
# Never uses -C: every case removes only the services it created.
set -uo pipefail

in_guest() { grep -q 'vmcmd=' /proc/cmdline 2>/dev/null; }

# ---------------------------------------------------------------- guest side
if in_guest; then
  O=/vmout/ipvs; rm -rf "$O"; mkdir -p "$O/restore" "$O/cmd"
  uname -r > "$O/kernel-version.txt"
  modprobe ip_vs; modprobe dummy; modprobe veth
  for s in rr wrr lc wlc sh mh dh sed nq fo ovf lblc lblcr; do modprobe "ip_vs_$s" 2>/dev/null; done
  modprobe ip_vs_pe_sip 2>/dev/null
  ipvsadm --version > "$O/version.txt" 2>&1

  # Permission denied: the same command as an unprivileged user.
  setpriv --reuid=65534 --regid=65534 --clear-groups ipvsadm -Sn > "$O/cmd-unprivileged.stdout" 2> "$O/cmd-unprivileged.stderr"
  echo $? > "$O/cmd-unprivileged.status"

  ipvsadm -Sn > "$O/save-empty.txt" 2>&1
  ipvsadm -Ln > "$O/list-empty.txt" 2>&1
  ipvsadm -Ln --exact > "$O/list-exact-empty.txt" 2>&1

  # -D lines for every service in the table (the capture's own cleanup; never -C).
  delete_rules() {
    ipvsadm -Sn | awk '$1 == "-A" { six = ""; for (i = 4; i <= NF; i++) if ($i == "-6") six = " -6"; print "-D", $2, $3 six }'
  }
  # restore CASE SETUP INPUT: run SETUP (-R lines), feed INPUT to one ipvsadm -R, record output, status and
  # the table after, then delete every service the case created (by -D, never -C).
  restore() {
    local name=$1 setup=$2 input=$3 d="$O/restore/$1"
    mkdir -p "$d"
    [ -n "$setup" ] && printf '%s\n' "$setup" | ipvsadm -R
    printf '%s' "$setup" > "$d/setup"
    printf '%s\n' "$input" > "$d/input"
    printf '%s\n' "$input" | ipvsadm -R > "$d/stdout" 2> "$d/stderr"
    echo $? > "$d/status"
    ipvsadm -Sn > "$d/after" 2>&1
    case $name in *threshold*|edit-real*) ipvsadm -Ln --thresholds --exact > "$d/after-thresholds" 2>&1 ;; esac
    delete_rules | ipvsadm -R
  }
  # cmd CASE SETUP ARGS...: one ipvsadm invocation with ARGS.
  cmd() {
    local name=$1 setup=$2 d="$O/cmd/$1"; shift 2
    mkdir -p "$d"
    [ -n "$setup" ] && printf '%s\n' "$setup" | ipvsadm -R
    printf '%s' "$setup" > "$d/setup"
    printf '%s\n' "$*" > "$d/args"
    ipvsadm "$@" > "$d/stdout" 2> "$d/stderr"
    echo $? > "$d/status"
    ipvsadm -Sn > "$d/after" 2>&1
    delete_rules | ipvsadm -R
  }
  S1='-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -m -w 5'
  restore ok-two-lines '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -m -w 5'
  restore add-existing-service "$S1" '-A -t 198.51.100.1:80 -s rr'
  restore add-existing-real "$S1" '-a -t 198.51.100.1:80 -r 10.9.9.1:80 -m -w 5'
  restore delete-missing-real "$S1" '-d -t 198.51.100.1:80 -r 10.9.9.9:80'
  restore edit-missing-real "$S1" '-e -t 198.51.100.1:80 -r 10.9.9.9:80 -m -w 3'
  restore edit-missing-service '' '-E -t 198.51.100.2:80 -s rr'
  restore delete-missing-service '' '-D -t 198.51.100.2:80'
  restore add-real-missing-service '' '-a -t 198.51.100.2:80 -r 10.9.9.1:80 -m'
  restore bad-scheduler '' '-A -t 198.51.100.3:80 -s nosuch'
  restore middle-fails '' '-A -t 198.51.100.1:80 -s rr
-D -t 198.51.100.2:80
-A -t 198.51.100.3:80 -s rr'
  restore last-fails '' '-A -t 198.51.100.1:80 -s rr
-A -t 198.51.100.3:80 -s rr
-D -t 198.51.100.2:80'
  restore first-fails '' '-D -t 198.51.100.2:80
-A -t 198.51.100.1:80 -s rr
-A -t 198.51.100.3:80 -s rr'
  restore two-fail-last-ok '' '-D -t 198.51.100.2:80
-A -t 198.51.100.1:80 -s rr
-E -t 198.51.100.4:80 -s rr
-A -t 198.51.100.3:80 -s rr'
  restore syntax-error-middle '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80
-A -t 198.51.100.3:80 -s rr'
  restore bad-address-middle '' '-A -t 198.51.100.1:80 -s rr
-A -t 300.1.1.1:80 -s rr
-A -t 198.51.100.3:80 -s rr'
  restore unknown-option-middle '' '-A -t 198.51.100.1:80 -s rr
-A -t 198.51.100.2:80 --bogus
-A -t 198.51.100.3:80 -s rr'
  restore bad-scheduler-middle '' '-A -t 198.51.100.1:80 -s rr
-A -t 198.51.100.2:80 -s nosuch
-A -t 198.51.100.3:80 -s rr'
  restore prefix-ipvsadm '' 'ipvsadm -A -t 198.51.100.1:80 -s rr
-A -t 198.51.100.3:80 -s rr'
  restore blank-line-middle '' '-A -t 198.51.100.1:80 -s rr

-A -t 198.51.100.3:80 -s rr'
  restore comment-line-middle '' '-A -t 198.51.100.1:80 -s rr
# a comment
-A -t 198.51.100.3:80 -s rr'
  restore defaults '' '-A -t 198.51.100.1:80
-a -t 198.51.100.1:80 -r 10.9.9.1:80
-A -t 198.51.100.2:80 -s rr -p
-A -t 198.51.100.3:80 -s rr -M 255.255.255.0'
  restore family-mismatch '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r [2001:db8::1]:80 -m
-A -f 7 -6 -s rr
-a -f 7 -6 -r 10.9.9.1 -g'
  restore netmask-v6-dotted '' '-A -t [2001:db8::99]:80 -s rr -p 300 -M 255.255.255.0'
  restore netmask-forms '' '-A -t [2001:db8::98]:80 -s rr -p 300 -M 64
-A -t 198.51.100.7:80 -s rr -p 300 -M 255.255.0.0
-A -f 8 -6 -s rr -p 60 -M 48
-A -f 9 -s rr -p 60 -M 255.255.255.128'
  restore netmask-v4-prefix '' '-A -t 198.51.100.6:80 -s rr -p 300 -M 24'
  restore port-zero '' '-A -t 198.51.100.5:0 -s rr
-A -t 198.51.100.6:0 -s rr -p 300'
  restore gate-port-forced '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.1:8080 -g
-a -t 198.51.100.1:80 -r 10.9.9.2:8080 -i
-a -t 198.51.100.1:80 -r 10.9.9.3:8080 -m
-a -t 198.51.100.1:80 -r 10.9.9.4 -m'
  restore weight-negative '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -m -w -1'
  restore threshold-max '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.2:80 -m -w 2147483647 -x 65535 -y 65535'
  restore threshold-too-big '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.3:80 -m -x 65536'
  restore ops-tcp '' '-A -t 198.51.100.2:80 -s rr -o'
  restore ops-and-pe '' '-A -u 198.51.100.1:5060 -s rr -o
-A -u 198.51.100.3:5060 -s rr -p 60 --pe sip
-A -f 9 -s rr -o'
  restore tunnel-types '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -i --tun-type gue --tun-port 6080 --tun-nocsum
-a -t 198.51.100.1:80 -r 10.9.9.2:80 -i --tun-type gue --tun-port 6081 --tun-remcsum
-a -t 198.51.100.1:80 -r 10.9.9.3:80 -i --tun-type gre --tun-csum
-a -t 198.51.100.1:80 -r 10.9.9.4:80 -i --tun-type ipip'
  restore fwmark-reals '' '-A -f 7 -6 -s rr
-a -f 7 -6 -r [2001:db8::1]:0 -g
-a -f 7 -6 -r [2001:db8::2]:8080 -g
-a -f 7 -6 -r [2001:db8::3]:8080 -m
-a -f 7 -6 -r 10.9.9.1:0 -i
-A -f 6 -s rr
-a -f 6 -r 10.9.9.2:80 -g
-a -f 6 -r 10.9.9.3 -m'
  restore fwmark-v6-real-no-port '' '-A -f 7 -6 -s rr
-a -f 7 -6 -r [2001:db8::1] -g'
  restore delete-and-edit '' '-A -t 198.51.100.1:80 -s rr -p 300
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -m -w 5
-a -t 198.51.100.1:80 -r 10.9.9.2:80 -m -w 5
-E -t 198.51.100.1:80 -s wlc
-d -t 198.51.100.1:80 -r 10.9.9.1:80
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -m -w 5
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -m -w 6
-e -t 198.51.100.1:80 -r 10.9.9.2:80 -m -w 0
-A -t 198.51.100.2:80 -s rr
-D -t 198.51.100.2:80
-D -t 198.51.100.2:80'
  restore address-forms '' '-A -t [2001:DB8:0:0::0010]:80 -s rr
-a -t [2001:db8::10]:80 -r [2001:0db8::0011]:80 -m
-A -t 198.51.100.1:http -s rr'
  restore sched-flags '' '-A -t 198.51.100.1:80 -s sh -b sh-port,sh-fallback
-A -t 198.51.100.2:80 -s rr -b sh-port
-A -t 198.51.100.3:80 -s mh -b bogus-flag'

  # One invalid line each: the error texts of ipvsadm's own checks (each stops -R).
  restore err-missing-argument '' '-A -t 198.51.100.1:80 -s'
  restore err-unknown-sched-flag '' '-A -t 198.51.100.3:80 -s mh -b bogus-flag'
  restore err-no-service '' '-A -s rr'
  restore err-illegal-option '' '-a -t 198.51.100.1:80 -r 10.9.9.1:80 -s rr'
  restore err-illegal-option-service '' '-A -t 198.51.100.1:80 -w 5'
  restore err-two-commands '' '-A -D -t 198.51.100.1:80'
  restore err-fwmark-zero '' '-A -f 0 -s rr'
  restore err-fwmark-text '' '-A -f abc -s rr'
  restore err-timeout-zero '' '-A -t 198.51.100.1:80 -s rr -p 0'
  restore err-timeout-text '' '-A -t 198.51.100.1:80 -s rr -p abc'
  restore err-netmask-v4 '' '-A -t 198.51.100.1:80 -s rr -p 300 -M 255.255.255.256'
  restore err-threshold-text '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -m -x abc'
  restore err-lthreshold-text '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -m -y abc'
  restore err-gue-no-port '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -i --tun-type gue'
  restore err-tun-type '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -i --tun-type bogus'
  restore err-v6-vip-no-port '' '-A -t [2001:db8::1] -s rr -p 300'
  restore err-v4-port-text '' '-A -t 198.51.100.1:80x -s rr'
  restore err-unknown-short '' '-A -t 198.51.100.1:80 -s rr -Q
-A -t 198.51.100.2:80 -s rr'
  restore ports-zero-reals '' '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.5:0 -m
-A -t 198.51.100.2:0 -s rr -p 60
-a -t 198.51.100.2:0 -r 10.9.9.6:80 -g
-a -t 198.51.100.2:0 -r 10.9.9.7:80 -m'
  restore all-service-flags '' '-A -u 198.51.100.1:5060 -s sh -b sh-port -p 60 -M 255.255.255.0 --pe sip -o
-A -u [2001:db8::1]:5060 -s mh -b mh-fallback -p 60 -M 64 -o'
  restore sort-order '' '-A -t 10.1.1.1:80 -s rr
-A -t 200.1.1.1:80 -s rr
-A -t 192.0.2.1:80 -s rr
-A -t 127.0.0.2:80 -s rr
-A -u 10.1.1.1:80 -s rr
-A -t [2001:db8::1]:80 -s rr
-A -t [fe80::1]:80 -s rr
-A -t [::1]:80 -s rr
-A -f 3 -s rr
-A -f 2 -6 -s rr
-A -f 2 -s rr
-a -t 10.1.1.1:80 -r 200.0.0.1:80 -m
-a -t 10.1.1.1:80 -r 10.0.0.1:80 -m
-a -t 10.1.1.1:80 -r 10.0.0.1:81 -m
-a -t 10.1.1.1:80 -r 127.0.0.1:80 -m
-a -t 10.1.1.1:80 -r 192.168.0.1:80 -m'
  ipvsadm -R <<< '-A -u 198.51.100.1:5060 -s sh -b sh-port,sh-fallback -p 60 -M 255.255.255.0 --pe sip -o
-A -u [2001:db8::1]:5060 -s mh -b mh-fallback -p 60 -M 64 -o
-A -f 5 -s rr -o'
  ipvsadm -Ln > "$O/list-flags.txt" 2>&1
  delete_rules | ipvsadm -R

  # Edit semantics: what -E / -e reset when an option is left out.
  restore edit-service-defaults '-A -t 198.51.100.1:80 -s sh -p 300 -M 255.255.255.0 -b sh-port
-A -t 198.51.100.2:80 -s sh -p 300 -b sh-port
-A -u 198.51.100.3:53 -s rr -o' '-E -t 198.51.100.1:80
-E -t 198.51.100.2:80 -s sh
-E -u 198.51.100.3:53 -s rr'
  restore edit-real-defaults '-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.9.9.1:80 -m -w 7 -x 100 -y 50
-a -t 198.51.100.1:80 -r 10.9.9.2:80 -m -w 7 -x 100 -y 50' '-e -t 198.51.100.1:80 -r 10.9.9.1:80
-e -t 198.51.100.1:80 -r 10.9.9.2:80 -g -w 3'

  cmd add-existing-service "$S1" -A -t 198.51.100.1:80 -s rr
  cmd delete-missing-service '' -D -t 198.51.100.2:80
  cmd edit-missing-service '' -E -t 198.51.100.2:80 -s rr
  cmd delete-missing-real "$S1" -d -t 198.51.100.1:80 -r 10.9.9.9:80
  cmd bad-scheduler '' -A -t 198.51.100.3:80 -s nosuch
  cmd missing-real-option '' -a -t 198.51.100.1:80
  cmd unknown-option '' -Sn --bogus
  cmd ok-add '' -A -t 198.51.100.1:80 -s rr

  # The big table: every kind of service and real lvsd may meet.
  printf '%s\n' \
    '-A -t 192.0.2.10:80 -s wlc' \
    '-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w 100' \
    '-a -t 192.0.2.10:80 -r 10.0.0.12:8080 -m -w 0' \
    '-a -t 192.0.2.10:80 -r 10.0.0.13:80 -g -w 5 -x 100 -y 50' \
    '-a -t 192.0.2.10:80 -r 10.0.0.14:80 -i' \
    '-A -t 192.0.2.10:443 -s rr -p 300' \
    '-a -t 192.0.2.10:443 -r 10.0.0.11:443 -g -w 1' \
    '-A -t 192.0.2.10:8443 -s wlc -p 600 -M 255.255.255.0' \
    '-a -t 192.0.2.10:8443 -r 10.0.0.11:8443 -m -w 2' \
    '-A -t 192.0.2.12:0 -s rr -p 300' \
    '-a -t 192.0.2.12:0 -r 10.0.0.15:0 -g' \
    '-A -u 192.0.2.53:53 -s rr' \
    '-a -u 192.0.2.53:53 -r 10.0.0.21:53 -g -w 1' \
    '-a -u 192.0.2.53:53 -r 10.0.0.22:5353 -m -w 1' \
    '-A -u 192.0.2.13:5060 -s rr -o' \
    '-A -u 192.0.2.14:5060 -s rr -p 60 --pe sip' \
    '-A --sctp-service 192.0.2.10:3868 -s rr' \
    '-a --sctp-service 192.0.2.10:3868 -r 10.0.0.31:3868 -m -w 1' \
    '-A -t 192.0.2.11:80 -s mh -b mh-port' \
    '-A -t 192.0.2.11:81 -s sh -b sh-port,sh-fallback' \
    '-a -t 192.0.2.11:81 -r 10.0.0.41:81 -g -w 1' \
    '-A -t [2001:db8::10]:80 -s wlc' \
    '-a -t [2001:db8::10]:80 -r [2001:db8::11]:80 -m -w 10' \
    '-a -t [2001:db8::10]:80 -r [2001:db8::12]:80 -g -w 0' \
    '-A -u [2001:db8::10]:53 -s sh -b sh-port' \
    '-a -u [2001:db8::10]:53 -r [2001:db8::21]:53 -i -w 3 -x 10' \
    '-A -t [2001:db8::20]:443 -s rr -p 120 -M 64' \
    '-A --sctp-service [2001:db8::30]:3868 -s wrr' \
    '-A -f 12 -s rr' \
    '-a -f 12 -r 10.0.0.51 -g' \
    '-a -f 12 -r 10.0.0.52:80 -m -w 4' \
    '-A -f 13 -6 -s wlc -p 300 -M 64' \
    '-a -f 13 -6 -r [2001:db8::41]:0 -g' \
    '-a -f 13 -6 -r [2001:db8::42]:8080 -m -w 2' \
    '-A -f 14 -s lc -p 300 -M 255.255.0.0' \
    > "$O/table.rules"
  ipvsadm -R < "$O/table.rules" > "$O/table-restore.out" 2>&1; echo $? >> "$O/table-restore.out"

  # Real connections so counters are not all zero: client ns -> VIP (dummy in the guest) -> 2 realserver ns.
  sysctl -qw net.ipv4.ip_forward=1
  ip link add vip0 type dummy; ip addr add 192.0.2.100/32 dev vip0; ip link set vip0 up
  for i in 1 2; do
    ip netns add rs$i; ip link add rsv$i type veth peer name eth0 netns rs$i
    ip addr add 10.10.$i.1/24 dev rsv$i; ip link set rsv$i up
    ip -n rs$i addr add 10.10.$i.2/24 dev eth0; ip -n rs$i link set eth0 up; ip -n rs$i link set lo up
    ip -n rs$i route add default via 10.10.$i.1
    ip netns exec rs$i node -e '
      const net = require("node:net");
      for (const p of [80, 8080]) net.createServer((s) => { s.on("data", () => s.end("ok\n")); s.on("error", () => {}); }).listen(p);
    ' > /dev/null 2>&1 &
  done
  ip netns add client; ip link add clv type veth peer name eth0 netns client
  ip addr add 10.30.0.1/24 dev clv; ip link set clv up
  ip -n client addr add 10.30.0.2/24 dev eth0; ip -n client link set eth0 up; ip -n client link set lo up
  ip -n client route add default via 10.30.0.1
  printf '%s\n' \
    '-A -t 192.0.2.100:80 -s rr -p 300' \
    '-a -t 192.0.2.100:80 -r 10.10.1.2:80 -m -w 1' \
    '-a -t 192.0.2.100:80 -r 10.10.2.2:80 -m -w 1' \
    '-A -t 192.0.2.100:8080 -s rr' \
    '-a -t 192.0.2.100:8080 -r 10.10.1.2:8080 -m -w 1' \
    '-a -t 192.0.2.100:8080 -r 10.10.2.2:8080 -m -w 1' | ipvsadm -R
  sleep 2
  # 4 finished requests per service (InActConn, TIME_WAIT) and 3 connections held open (ActiveConn).
  ip netns exec client node -e '
    const net = require("node:net");
    const one = (port, hold) => new Promise((resolve) => {
      const s = net.connect({ host: "192.0.2.100", port }, () => { if (hold) resolve(); else s.write("x"); });
      s.on("data", () => { s.end(); resolve(); }); s.on("error", resolve);
    });
    (async () => {
      for (const port of [80, 8080]) for (let i = 0; i < 4; i++) await one(port, false);
      await Promise.all([one(80, true), one(8080, true), one(8080, true)]);
      require("node:fs").writeFileSync("/tmp/held", "1");
      setTimeout(() => process.exit(0), 120000);
    })();
  ' > /dev/null 2>&1 &
  client=$!
  for _ in $(seq 1 100); do [ -f /tmp/held ] && break; sleep 0.2; done
  sleep 1

  ipvsadm -Sn > "$O/save.txt" 2>&1
  ipvsadm -S > "$O/save-not-numeric.txt" 2>&1
  ipvsadm -Ln > "$O/list.txt" 2>&1
  ipvsadm -Ln --exact > "$O/list-exact.txt" 2>&1
  ipvsadm -Ln --stats --exact > "$O/list-stats-exact.txt" 2>&1
  ipvsadm -Ln --stats > "$O/list-stats.txt" 2>&1
  ipvsadm -Ln --rate --exact > "$O/list-rate-exact.txt" 2>&1
  ipvsadm -Ln --thresholds --exact > "$O/list-thresholds-exact.txt" 2>&1
  ipvsadm -Ln --persistent-conn --exact > "$O/list-persistent-conn-exact.txt" 2>&1
  echo $? > "$O/list-persistent-conn-exact.status"
  ipvsadm -Ln --persistent-conn --stats --exact > "$O/list-persistent-conn-stats.txt" 2>&1
  echo $? > "$O/list-persistent-conn-stats.status"
  ipvsadm -Ln --thresholds --persistent-conn --exact > "$O/list-thresholds-persistent-conn.txt" 2>&1
  ipvsadm -Ln --nosort --exact > "$O/list-nosort-exact.txt" 2>&1
  ipvsadm -Ln -t 192.0.2.100:80 --exact > "$O/list-one-service.txt" 2>&1
  ipvsadm -Lnc > "$O/list-connections.txt" 2>&1
  # Save must read back to the same table: restore it into nothing and compare (services deleted by -D).
  delete_rules > /tmp/del.rules
  kill "$client" 2>/dev/null
  ipvsadm -R < /tmp/del.rules; ipvsadm -Sn > "$O/save-after-delete.txt" 2>&1
  ipvsadm -R < "$O/save.txt"; echo $? > "$O/save-restore.status"
  ipvsadm -Sn > "$O/save-roundtrip.txt" 2>&1

  # Marks of 2^31 and up: ipvsadm prints them as negative numbers, which it then refuses as input.
  delete_rules | ipvsadm -R
  d="$O/restore/fwmark-high"; mkdir -p "$d"
  printf '%s\n' '-A -f 4000000000 -s rr' '-a -f 4000000000 -r 10.9.9.1:0 -g' > "$d/input"
  ipvsadm -R < "$d/input" > "$d/stdout" 2> "$d/stderr"; echo $? > "$d/status"
  ipvsadm -Sn > "$d/after" 2>&1; ipvsadm -Ln --exact > "$d/list" 2>&1
  printf '%s\n' "$(delete_rules)" > "$d/delete-input"
  delete_rules | ipvsadm -R > "$d/delete-stdout" 2> "$d/delete-stderr"; echo $? > "$d/delete-status"
  ipvsadm -D -f 4000000000; echo $? > "$d/delete-unsigned-status"
  ipvsadm -Sn > "$d/after-delete" 2>&1
  exit 0
fi

# ---------------------------------------------------------------- host side
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF="$ROOT/scripts/capture-ipvs-fixtures.sh"
DEST="$ROOT/test/fixtures/ipvs"
RUN=${LVSD_VM_RUN:-/work/shared/vm/run.sh}
OUT=$(mktemp -d /var/tmp/lvsd-ipvs-capture.XXXX)

mkdir -p "$OUT/host"
# Without IPVS in the kernel (this host) ipvsadm fails before doing anything, even for --version.
if ipvsadm -Sn > "$OUT/host/not-loaded.stdout" 2> "$OUT/host/not-loaded.stderr"; then
  rm -f "$OUT/host/not-loaded."*; echo "note: this host has IPVS; keeping the not-loaded capture there is" >&2
else
  echo $? > "$OUT/host/not-loaded.status"
fi
node -e 'require("node:child_process").spawn("/nonexistent/ipvsadm", ["-Sn"]).on("error", (e) => console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, message: e.message })))' \
  > "$OUT/host/missing-spawn-error.json"

"$RUN" "$SELF" "$OUT"
ipvsadm_pkg=$(dpkg-query -W -f='${Version}' ipvsadm 2>/dev/null || echo unknown)
echo "$ipvsadm_pkg" > "$OUT/ipvs/ipvsadm-package-version.txt"
mkdir -p "$DEST"
rm -rf "$DEST/restore" "$DEST/cmd"
cp -r "$OUT/ipvs/." "$DEST/"
mkdir -p "$DEST/host"; cp "$OUT/host/"* "$DEST/host/"
echo "captured into $DEST (raw VM output in $OUT)"
