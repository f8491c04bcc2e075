# Each server's own CPU per answer, for the benches that compare radiod with another server (sourced). When the load
# generator's core is the bottleneck, answers per second measure it as much as the server; CPU per answer does not.
# shellcheck shell=bash

# stat_ticks FIELDS PID...: the sum over these processes of FIELDS (an awk expression over /proc/PID/stat's fields
# after the command name: $12 user ticks, $13 system ticks); gone ones count 0
stat_ticks() {
    local fields=$1 p
    shift
    for p in "$@"; do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk "{print $fields}"; done | awk '{s += $1} END {print s + 0}'
}

# cpu_ticks PID...: user + system clock ticks these processes have used so far
cpu_ticks() {
    stat_ticks '$12 + $13' "$@"
}

# cpu_user_ticks PID...: the user part of cpu_ticks (the rest is the kernel's: system calls, TCP)
cpu_user_ticks() {
    stat_ticks '$12' "$@"
}

# cpu_micros_per TICKS ANSWERS: CPU microseconds per answer
cpu_micros_per() {
    awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}'
}
