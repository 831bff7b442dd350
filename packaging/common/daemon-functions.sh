# Shared by the heartbeat resource script and the OCF agent (copied into both when the packages
# are built, so each installed script stands alone): run `lvsd run` in the background with a pid
# file, its JSON log lines going to the journal (systemd-cat), else syslog (logger), or appended to
# a file, and stop it.
# Callers set: LVSD_BINARY, LVSD_CONFIG_DIR, LVSD_EXTRA_ARGS, LVSD_PIDFILE, LVSD_LOGFILE (empty:
# syslog), LVSD_LOG_TAG; LVSD_WAIT_READY may name another lvsd-wait-ready (the packaging tests' copy).
# Functions return 0 on success; lvsd_status returns LSB status codes.

# Prints the pid of the lvsd daemon named by the pid file, if that process is alive and is one.
# Returns 0 running, 1 dead but the pid file exists, 3 not running (no pid file).
lvsd_status() {
    local pid cmdline
    [ -e "$LVSD_PIDFILE" ] || return 3
    read -r pid < "$LVSD_PIDFILE" 2>/dev/null || return 1
    case "$pid" in
        '' | *[!0-9]*) return 1 ;;
    esac
    [ -r "/proc/$pid/cmdline" ] || return 1
    # A pid is reused after a crash: it must still be `... lvsd run ...`, not whatever got the pid.
    cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
    case "$cmdline" in
        *lvsd*' run'*) echo "$pid"; return 0 ;;
    esac
    return 1
}

# Starts the daemon detached from the caller (own session; stdin, stdout and stderr not inherited,
# which a cluster manager waiting on the script's output needs), and writes the pid file.
lvsd_spawn() {
    local pid logdir
    # One glibc malloc arena for the daemon, as the systemd unit sets it: the check thread then
    # has no arena of its own (src/node-flags.ts LVSD_NODE_ENV; docs/behaviour.md, "Memory of the
    # check threads"). Exported to the daemon only, for this function's children.
    local -x MALLOC_ARENA_MAX=1
    mkdir -p "$(dirname "$LVSD_PIDFILE")" || return 1
    # setsid: the daemon (and its logger) live in their own session, so that whatever kills the
    # caller's process group (a timed-out cluster action) leaves them alone. The subshell execs
    # setsid, which execs the daemon: $! is the daemon's pid.
    # shellcheck disable=SC2086 # LVSD_EXTRA_ARGS is a list of words by design (e.g. --dry-run)
    if [ -n "$LVSD_LOGFILE" ]; then
        logdir=$(dirname "$LVSD_LOGFILE")
        mkdir -p "$logdir" || return 1
        (exec setsid "$LVSD_BINARY" run -c "$LVSD_CONFIG_DIR" $LVSD_EXTRA_ARGS < /dev/null >> "$LVSD_LOGFILE" 2>&1) &
    elif [ -S /run/systemd/journal/stdout ] && command -v systemd-cat > /dev/null 2>&1; then
        # journald: systemd-cat connects stdout to the journal and execs the daemon (no helper
        # process that could die and take the daemon's stdout with it).
        (exec setsid systemd-cat -t "${LVSD_LOG_TAG:-lvsd}" "$LVSD_BINARY" run -c "$LVSD_CONFIG_DIR" $LVSD_EXTRA_ARGS < /dev/null > /dev/null 2>&1) &
    else
        # syslog through logger, one message per JSON line (--size: lines listing many ipvsadm
        # operations are long). Should logger ever exit, cat drains the pipe: the daemon dies of
        # EPIPE otherwise.
        # shellcheck disable=SC2016 # expanded by the inner bash
        (exec setsid /bin/bash -c 'tag=$1; shift; exec "$@" < /dev/null > >(logger -t "$tag" -p daemon.info --size 65536 > /dev/null 2>&1; exec cat > /dev/null) 2>&1' \
            lvsd-spawn "${LVSD_LOG_TAG:-lvsd}" "$LVSD_BINARY" run -c "$LVSD_CONFIG_DIR" $LVSD_EXTRA_ARGS < /dev/null > /dev/null 2>&1) &
    fi
    pid=$!
    echo "$pid" > "$LVSD_PIDFILE" || return 1
    return 0
}

# Waits until the daemon is alive and settled (still running after a short while; a config error
# or a busy listen port makes it exit at once), then until it handles its signals, as the systemd
# unit's ExecStartPost does (lvsd-wait-ready): while node itself starts up, before lvsd's first
# instruction, SIGHUP ends the process, so a `reload` right after `start` would end the daemon.
# Returns 0 if running, 1 if it exited.
lvsd_wait_started() {
    local pid ready=${LVSD_WAIT_READY:-/usr/lib/lvsd/lvsd-wait-ready}
    for _ in 1 2 3 4 5 6 7 8; do
        sleep 0.25
        lvsd_status > /dev/null || return 1
    done
    pid=$(lvsd_status) || return 1
    # Bounded (about 30 s) and never failing: it returns at once when the process is gone.
    [ -x "$ready" ] && "$ready" "$pid"
    lvsd_status > /dev/null
}

# Sends SIGTERM (the daemon's clean stop: it removes its services from the kernel unless
# clean_stop is false) and waits up to $1 seconds, then SIGKILL (which leaves the table as it is).
# Removes the pid file. Returns 0 once no daemon runs.
lvsd_stop() {
    local timeout=${1:-30} pid waited=0
    if ! pid=$(lvsd_status); then
        rm -f "$LVSD_PIDFILE"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge $((timeout * 5)) ]; then
            LVSD_STOP_KILLED=1
            kill -KILL "$pid" 2>/dev/null
            sleep 0.2
            break
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
    kill -0 "$pid" 2>/dev/null && return 1
    rm -f "$LVSD_PIDFILE"
    return 0
}

# Sends SIGHUP: the daemon re-reads its configuration and keeps the running one if it is invalid.
lvsd_reload() {
    local pid
    pid=$(lvsd_status) || return 1
    kill -HUP "$pid"
}
