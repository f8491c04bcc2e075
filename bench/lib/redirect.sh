# What the redirect benches share (sourced by bench/redirect/run and bench/redirect/sched): their tools, nginx
# answering a static 302 like radiod's, and the wait for a server's first 302.
# shellcheck shell=bash

# redirect_tools: installs wrk and nginx when missing; sets NGINX to nginx's binary
redirect_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}

# nginx_redirect_conf WORK WORKERS ADDR PORT [SERVER_BLOCK]: writes WORK/nginx.conf, WORKERS workers answering every
# request on ADDR:PORT with a 302 like radiod's (and SERVER_BLOCK, another server, if given). The master process stays
# on: without it nginx runs in one process whatever worker_processes says (the whole-machine mode ran one worker until
# 2026-12-04).
nginx_redirect_conf() {
    mkdir -p "$1/nginx"
    cat >"$1/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes $2;
pid $1/nginx.pid;
error_log $1/nginx.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $1/nginx;
    proxy_temp_path $1/nginx;
    fastcgi_temp_path $1/nginx;
    uwsgi_temp_path $1/nginx;
    scgi_temp_path $1/nginx;
    keepalive_requests 1000000;
    # radiod's 302 carries it too (web players read the stream across origins).
    add_header Access-Control-Allow-Origin *;
    server {
        listen $3:$4;
        location / { return 302 http://192.0.2.12:8080/_stream/live.mp3; }
    }
    ${5:-}
}
CONF
}

# await_302 NAME URL LOGS: waits up to 30 s for URL to answer 302; else prints LOGS (a glob) and exits 1
await_302() {
    for _ in $(seq 1 150); do
        if curl -sk -o /dev/null -w '%{http_code}' "$2" 2>/dev/null | grep -q '^302$'; then
            return 0
        fi
        sleep 0.2
    done
    echo "$1 did not answer 302 at $2" >&2
    # shellcheck disable=SC2086 # LOGS is a glob
    cat $3 >&2 || true
    exit 1
}
