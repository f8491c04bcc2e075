# Each server's own CPU per answer, for the benches that compare radiod with another server (sourced). When the load
# generator's core is the bottleneck, answers per second measure it as much as the server; CPU per answer does not.
# shellcheck shell=bash

# cpu_ticks PID...: user + system clock ticks these processes have used so far (/proc/PID/stat; gone ones count 0)
cpu_ticks() {
    local p
    for p in "$@"; do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}'; done | awk '{s += $1} END {print s + 0}'
}

# cpu_user_ticks PID...: the user part of cpu_ticks (the rest is the kernel's: system calls, TCP)
cpu_user_ticks() {
    local p
    for p in "$@"; do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12}'; done | awk '{s += $1} END {print s + 0}'
}

# cpu_micros_per TICKS ANSWERS: CPU microseconds per answer
cpu_micros_per() {
    awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}'
}
