use pricestream_records::Problems;

/// Checks a `host:port` address list entry, recording what is wrong with it.
pub(crate) fn check_host_port(problems: &mut Problems, key: &str, address: &str) {
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                problems.add(key, format_args!("has an invalid port in `{address}`"));
            }
        }
        _ => problems.add(key, format_args!("entry `{address}` must be host:port")),
    }
}
