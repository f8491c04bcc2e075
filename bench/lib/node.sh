# Shell shared by the benches that run one real radiod node (its etcd and Icecast on 127.0.0.0/8); sourced.
# Callers set ROOT (the checkout) and WORK (a scratch directory) and call bench_cleanup from their EXIT trap.
# shellcheck shell=bash
bench_pids=()

# bench_need cmd:package...: installs the Debian packages of the commands that are missing.
bench_need() {
    local pair missing=()
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
}

bench_free_port() { python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$1"; }

# bench_build: radiod, radioctl and the testkit (ListenerLoad), offline, tests skipped; sets CP and TESTKIT.
bench_build() {
    (cd "$ROOT" && mvn -q -o -pl controller,radioctl,testkit -am package -Dmaven.test.skip=true) >&2
    CP="$(ls "$ROOT"/controller/target/controller-*.jar | head -1):$ROOT/controller/target/lib/*"
    TESTKIT="$(ls "$ROOT"/testkit/target/testkit-*.jar | grep -v sources | head -1)"
}

# bench_etcd: one etcd member on a free loopback port; sets ENDPOINT.
bench_etcd() {
    local client peer
    client=$(bench_free_port 127.0.0.1)
    peer=$(bench_free_port 127.0.0.1)
    ENDPOINT="http://127.0.0.1:$client"
    etcd --name bench --data-dir "$WORK/etcd" --listen-client-urls "$ENDPOINT" --advertise-client-urls "$ENDPOINT" \
        --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "bench=http://127.0.0.1:$peer" --log-level warn --logger zap >"$WORK/etcd.log" 2>&1 &
    bench_pids+=($!)
    for _ in $(seq 100); do curl -sf "$ENDPOINT/health" >/dev/null && return 0; sleep 0.1; done
    echo "etcd did not start; see $WORK/etcd.log" >&2
    return 1
}

# bench_node_config ADDR NAME: $WORK/node.yml for a node on ADDR with free ports; sets HTTP, SOURCE and DNS.
bench_node_config() {
    HTTP=$(bench_free_port "$1")
    SOURCE=$(bench_free_port "$1")
    DNS=$(bench_free_port "$1")
    cat >"$WORK/node.yml" <<YAML
node: {name: $2, addresses: [$1]}
etcd: {endpoints: ['$ENDPOINT']}
http: {port: $HTTP}
source: {port: $SOURCE}
dns: {port: $DNS, zone: radio.test, nameservers: [ns1.radio.test]}
icecast: {port: $(bench_free_port "$1"), dir: $WORK/icecast}
transcoder: {dir: $WORK/transcoders}
YAML
    cat >"$WORK/logback.xml" <<'XML'
<configuration>
  <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="OUT"/></root>
</configuration>
XML
}

# bench_encoder ADDR MOUNT PASSWORD: an encoder that connects as soon as the node's source port answers and
# reconnects at once when it is dropped (a pre-encoded 128 kbit/s tone, copied at its rate: little CPU).
bench_encoder() {
    local addr=$1 mount=$2 password=$3
    [ -s "$WORK/tone.mp3" ] || ffmpeg -nostdin -loglevel error -f lavfi -i "sine=frequency=440:sample_rate=44100" \
        -t 120 -c:a libmp3lame -b:a 128k "$WORK/tone.mp3"
    ( while true; do
        if (exec 3<>"/dev/tcp/$addr/$SOURCE") 2>/dev/null; then
            ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$WORK/tone.mp3" -c copy -content_type audio/mpeg \
                -f mp3 "icecast://source:$password@$addr:$SOURCE$mount" >>"$WORK/ffmpeg.log" 2>&1 || true
        fi
        sleep 0.05
    done ) &
    bench_pids+=($!)
}

bench_cleanup() {
    local pid alive
    for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do # radiod stops its Icecast first
        alive=0
        for pid in "${bench_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    for pid in "${bench_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    pkill -f "$WORK/" 2>/dev/null || true
    for pid in "${bench_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
