#!/usr/bin/env bash
# The project's virtual audio: a private PulseAudio daemon with two null sinks, for headless runs and
# the test suite on Linux (Debian 12; no kernel modules, no sound card). Idempotent.
# With VA_SERVER=pipewire the same devices live on PipeWire instead: pipewire + wireplumber (the session
# manager, which links streams to devices and keeps the defaults) + pipewire-pulse (PipeWire's
# PulseAudio layer, what most Linux desktops now run), on a private D-Bus session bus, all headless.
#
#   packaging/virtual-audio.sh start     install missing packages (as root), start the daemon, create devices
#   packaging/virtual-audio.sh stop      stop the daemon started from the same VA_DIR
#   packaging/virtual-audio.sh status    server, sinks, sources and the PortAudio device list
#   source <(packaging/virtual-audio.sh env)   export the client environment into the calling shell
#
# PulseAudio devices:
#   sink   meeting   "system audio": play meeting audio here (paplay --device=meeting); the DEFAULT SINK,
#                    so the app's system-audio capture (monitor of the default sink) records meeting.monitor
#   sink   mic_feed  feed for the virtual microphone (paplay --device=mic_feed)
#   source virtmic   the virtual microphone (remap of mic_feed.monitor, not flagged as a monitor); the
#                    DEFAULT SOURCE, so the app's "microphone" (ALSA default/pulse PCM) records it
# ALSA (written only when /etc/alsa/conf.d is writable; conveniences, the app does not need them):
#   named PCMs system_capture (meeting.monitor), virtual_mic (virtmic), meeting_out, mic_feed_out.
#   The stock libasound2-plugins config already provides the "pulse" and "default" PCMs the app uses.
#
# Env knobs:
#   VA_DIR        runtime dir (socket, pid, logs), default /tmp/virtual-audio; one daemon per VA_DIR, so
#                 concurrent test runs each use their own dir and never share or kill each other's daemon
#   VA_RATE       null-sink rate, default 48000
#   VA_SERVER     pulseaudio (default) or pipewire; its packages are installed only when it is asked for
#   VA_SKIP_APT=1 never call apt-get
#   VA_OWNER_PID  if set, a watchdog stops the daemon within ~1 s after that process exits (tests set
#                 it to the pytest pid, so even a killed test run leaves no stray daemon)
set -euo pipefail

VA_DIR=${VA_DIR:-/tmp/virtual-audio}
VA_RATE=${VA_RATE:-48000}
VA_SERVER=${VA_SERVER:-pulseaudio}
SOCK="$VA_DIR/pulse/native"
PIDFILE="$VA_DIR/pulse.pid"
ALSA_CONF=/etc/alsa/conf.d/60-virtual-audio.conf
APT_PKGS="pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 espeak-ng sox"
PIPEWIRE_PKGS="pipewire pipewire-pulse wireplumber dbus-daemon"
[ "$VA_SERVER" = pipewire ] && APT_PKGS="$APT_PKGS $PIPEWIRE_PKGS"
case "$VA_SERVER" in pulseaudio|pipewire) ;; *) echo "virtual-audio: VA_SERVER must be pulseaudio or pipewire" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

client_env() {
  echo "export PULSE_SERVER=unix:$SOCK"
  echo "export XDG_RUNTIME_DIR=$VA_DIR"
}

# PIDFILE: the server's pid, or (PipeWire) the pids of dbus-daemon, pipewire, wireplumber and
# pipewire-pulse on one line; it is alive while every one of them is.
daemon_alive() {
  [ -f "$PIDFILE" ] || return 1
  local p
  for p in $(cat "$PIDFILE"); do kill -0 "$p" 2>/dev/null || return 1; done
}

stop() {
  if [ -f "$PIDFILE" ]; then
    local pids p; pids=$(cat "$PIDFILE")
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null || true
    for p in $pids; do
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$p" 2>/dev/null && kill -9 "$p"
    done
    echo "virtual-audio: stopped $pids"
  else
    echo "virtual-audio: not running (VA_DIR=$VA_DIR)"
  fi
  rm -f "$PIDFILE"
}

status() {
  eval "$(client_env)"
  if ! pactl info >/dev/null 2>&1; then echo "virtual-audio: not running (VA_DIR=$VA_DIR)"; return 1; fi
  pactl info | grep -E 'Server (Name|Version)|Default (Sink|Source)'
  pactl list short sinks
  pactl list short sources
  local py=python3
  [ -x "$ROOT/.venv/bin/python" ] && py="$ROOT/.venv/bin/python"
  if "$py" -c 'import sounddevice' 2>/dev/null; then
    "$py" -c 'import sounddevice as sd; print(sd.query_devices())'
  fi
}

install_pkgs() {
  [ "${VA_SKIP_APT:-0}" = 1 ] && return 0
  local missing=""
  for p in $APT_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "virtual-audio: missing packages:$missing (install them: sudo apt-get install$missing)" >&2
    return 1
  fi
  echo "virtual-audio: apt-get install$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

write_alsa_conf() {
  local want
  want=$(cat <<'EOF'
# Named ALSA PCMs routed to specific PulseAudio (or pipewire-pulse) devices; written by virtual-audio.sh
pcm.system_capture { type pulse; device "meeting.monitor"; hint { show on; description "System audio (meeting.monitor)" } }
pcm.virtual_mic    { type pulse; device "virtmic";         hint { show on; description "Virtual microphone (virtmic)" } }
pcm.meeting_out    { type pulse; device "meeting";         hint { show on; description "Meeting sink (system audio out)" } }
pcm.mic_feed_out   { type pulse; device "mic_feed";        hint { show on; description "Feed for the virtual mic" } }
EOF
)
  [ -f "$ALSA_CONF" ] && [ "$(cat "$ALSA_CONF")" = "$want" ] && return 0
  if mkdir -p "$(dirname "$ALSA_CONF")" 2>/dev/null && printf '%s\n' "$want" > "$ALSA_CONF" 2>/dev/null; then
    return 0
  fi
  echo "virtual-audio: cannot write $ALSA_CONF (not root); named ALSA PCMs skipped, pulse/default still work" >&2
}

start_watchdog() {
  local owner=$1 pid=$2
  # Polls once a second; detached from our stdio so callers do not wait on it. Only when the OWNER
  # died (a killed test run, which cannot clean up) does it stop the daemon and remove the files
  # start() created, and VA_DIR itself if then empty; a normal stop leaves cleanup to the owner.
  nohup bash -c "while kill -0 $owner 2>/dev/null && kill -0 ${pid%% *} 2>/dev/null; do sleep 1; done
                 kill -0 $owner 2>/dev/null && exit 0
                 kill $pid 2>/dev/null; sleep 0.5
                 rm -rf '$VA_DIR/pulse' '$VA_DIR/.config' '$VA_DIR/virtual.pa' '$VA_DIR/pulse.log' \\
                        '$VA_DIR/pulse.out' '$VA_DIR/pipewire' '$VA_DIR/bus' '$VA_DIR/.local' \\
                        '$VA_DIR/pipewire-0' '$VA_DIR/pipewire-0.lock' '$PIDFILE'
                 rmdir '$VA_DIR' 2>/dev/null" >/dev/null 2>&1 &
}

wait_for_server() {  # until pactl answers (or the server died): 10 s at most
  eval "$(client_env)"
  for _ in $(seq 100); do
    pactl info >/dev/null 2>&1 && return 0
    daemon_alive || return 1
    sleep 0.1
  done
  return 1
}

start_pipewire() {
  # A private session bus: wireplumber needs one (it keeps the default devices there), and it must
  # not be the desktop's. Config and state go to VA_DIR, never to the user's own.
  local log="$VA_DIR/pipewire/log" bus="unix:path=$VA_DIR/bus" pids=""
  mkdir -p "$VA_DIR/pipewire"
  local env=(env XDG_RUNTIME_DIR="$VA_DIR" PIPEWIRE_RUNTIME_DIR="$VA_DIR" HOME="$VA_DIR"
             XDG_CONFIG_HOME="$VA_DIR/.config" XDG_STATE_HOME="$VA_DIR/.local/state"
             DBUS_SESSION_BUS_ADDRESS="$bus" DISPLAY= WAYLAND_DISPLAY=)
  nohup "${env[@]}" dbus-daemon --session --address="$bus" --nofork --nopidfile \
      >"$log.dbus" 2>&1 </dev/null &
  pids="$!"
  for _ in $(seq 50); do [ -S "$VA_DIR/bus" ] && break; sleep 0.1; done
  nohup "${env[@]}" pipewire >"$log.pipewire" 2>&1 </dev/null &
  pids="$pids $!"
  for _ in $(seq 50); do [ -S "$VA_DIR/pipewire-0" ] && break; sleep 0.1; done
  nohup "${env[@]}" wireplumber >"$log.wireplumber" 2>&1 </dev/null &
  pids="$pids $!"
  nohup "${env[@]}" pipewire-pulse >"$log.pulse" 2>&1 </dev/null &
  pids="$pids $!"
  echo "$pids" > "$PIDFILE"
  if ! wait_for_server; then
    echo "virtual-audio: pipewire-pulse did not come up" >&2
    tail -n 20 "$log".* >&2 || true
    stop >/dev/null; exit 1
  fi
  # The same devices as under PulseAudio (norewinds is a PulseAudio null-sink option; PipeWire's
  # null sinks do not rewind). Defaults go through wireplumber, which may still be starting.
  pactl load-module module-null-sink sink_name=meeting rate="$VA_RATE" \
      sink_properties=device.description=Meeting >/dev/null
  pactl load-module module-null-sink sink_name=mic_feed rate="$VA_RATE" \
      sink_properties=device.description=MicFeed >/dev/null
  pactl load-module module-remap-source master=mic_feed.monitor source_name=virtmic \
      source_properties=device.description=VirtualMic >/dev/null
  local ok=0
  for _ in $(seq 50); do
    if pactl set-default-sink meeting 2>/dev/null && pactl set-default-source virtmic 2>/dev/null \
        && pactl info | grep -q "Default Sink: meeting" && pactl info | grep -q "Default Source: virtmic"; then
      ok=1; break
    fi
    sleep 0.2
  done
  if [ $ok = 0 ]; then
    echo "virtual-audio: could not set the default devices on PipeWire (is wireplumber running?)" >&2
    tail -n 20 "$log".* >&2 || true
    stop >/dev/null; exit 1
  fi
}

start() {
  install_pkgs
  write_alsa_conf
  if daemon_alive; then
    echo "virtual-audio: already running (pids $(cat "$PIDFILE"), VA_DIR=$VA_DIR)"; return 0
  fi
  mkdir -p "$VA_DIR"; chmod 700 "$VA_DIR"
  rm -f "$SOCK" "$VA_DIR/bus" "$VA_DIR/pipewire-0"  # stale sockets of a killed server: the new one could not bind
  if [ "$VA_SERVER" = pipewire ]; then
    start_pipewire
    [ -n "${VA_OWNER_PID:-}" ] && start_watchdog "$VA_OWNER_PID" "$(cat "$PIDFILE")"
    echo "virtual-audio: pipewire (pids $(cat "$PIDFILE")) on $SOCK"
    pactl info | grep -E 'Server Name'
    pactl list short sinks
    pactl list short sources
    echo "virtual-audio: clients need:"; client_env
    return 0
  fi
  # norewinds=1 matters: without it a monitor recording gets mangled whenever a new stream
  # starts playing into the idle null sink (the sink rewinds; captured audio is lost/garbled).
  cat > "$VA_DIR/virtual.pa" <<EOF
.fail
load-module module-native-protocol-unix auth-anonymous=1 socket=$SOCK
load-module module-null-sink sink_name=meeting rate=$VA_RATE norewinds=1 sink_properties=device.description=Meeting
load-module module-null-sink sink_name=mic_feed rate=$VA_RATE norewinds=1 sink_properties=device.description=MicFeed
load-module module-remap-source master=mic_feed.monitor source_name=virtmic source_properties=device.description=VirtualMic
set-default-sink meeting
set-default-source virtmic
EOF
  # Root is fine in per-user mode (a warning only); -n skips default.pa (no udev/alsa/dbus probing).
  XDG_RUNTIME_DIR="$VA_DIR" HOME="$VA_DIR" nohup pulseaudio -n -F "$VA_DIR/virtual.pa" \
      --daemonize=no --exit-idle-time=-1 --disallow-exit --use-pid-file=no \
      --log-target=file:"$VA_DIR/pulse.log" --log-level=notice >"$VA_DIR/pulse.out" 2>&1 </dev/null &
  echo $! > "$PIDFILE"
  if ! wait_for_server; then
    echo "virtual-audio: pulseaudio did not come up" >&2
    cat "$VA_DIR/pulse.out" "$VA_DIR/pulse.log" >&2 || true
    stop >/dev/null; exit 1
  fi
  [ -n "${VA_OWNER_PID:-}" ] && start_watchdog "$VA_OWNER_PID" "$(cat "$PIDFILE")"
  echo "virtual-audio: pulseaudio pid $(cat "$PIDFILE") on $SOCK"
  pactl list short sinks
  pactl list short sources
  echo "virtual-audio: clients need:"; client_env
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  env) client_env ;;
  *) echo "usage: $0 [start|stop|restart|status|env]"; exit 2 ;;
esac
