//! The process's resident memory and CPU time, from `/proc/self` (Linux; zero elsewhere).

/// Resident set size now, in bytes (`VmRSS`).
pub fn resident() -> u64 {
    status_kib("VmRSS:") * 1024
}

/// Peak resident set size so far, in bytes (`VmHWM`).
pub fn peak() -> u64 {
    status_kib("VmHWM:") * 1024
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `bytes` in MiB, for printing.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// CPU time the calling thread has used so far (`/proc/thread-self/schedstat`, nanoseconds).
pub fn thread_cpu() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = stat.split_whitespace().next().and_then(|field| field.parse().ok()).unwrap_or(0);
    std::time::Duration::from_nanos(nanos)
}
