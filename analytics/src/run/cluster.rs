//! The timely configuration: one process with several worker threads, or a
//! cluster of processes named in a hosts file.

use anyhow::{Context, bail};
use std::path::Path;
use timely::CommunicationConfig;

/// The processes of a cluster, read from a hosts file: one `host:port` per line,
/// blank lines and `#` comments ignored.
pub fn read_hosts(path: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read --hosts {}", path.display()))?;
    let mut hosts = Vec::new();
    let mut problems = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        match line.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                hosts.push(line.to_owned())
            }
            _ => problems.push(format!("{}:{}: `{line}` is not host:port", path.display(), number + 1)),
        }
    }
    if !problems.is_empty() {
        bail!("invalid hosts file:\n  {}", problems.join("\n  "));
    }
    if hosts.is_empty() {
        bail!("{}: no hosts listed", path.display());
    }
    Ok(hosts)
}

/// The communication config for `workers` threads, alone or as process `process` of `hosts`
/// (a single process when `hosts` names only itself).
pub fn communication(
    workers: usize,
    cluster: Option<(usize, Vec<String>)>,
) -> anyhow::Result<CommunicationConfig> {
    if workers == 0 {
        bail!("--workers must be >= 1, got 0");
    }
    Ok(match cluster {
        None => CommunicationConfig::Process(workers),
        Some((process, hosts)) => {
            if process >= hosts.len() {
                bail!(
                    "--process {process} is not in the hosts file, which lists {} process(es)",
                    hosts.len()
                );
            }
            if hosts.len() == 1 {
                return Ok(CommunicationConfig::Process(workers));
            }
            CommunicationConfig::Cluster {
                threads: workers,
                process,
                addresses: hosts,
                report: false,
                zerocopy: false,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hosts_and_lists_every_bad_line() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let good = dir.path().join("good");
        std::fs::write(&good, "# the cluster\n127.0.0.1:2101\n\nanalytics-1.analytics:2101 # pod 1\n")?;
        assert_eq!(read_hosts(&good)?, ["127.0.0.1:2101", "analytics-1.analytics:2101"]);

        let bad = dir.path().join("bad");
        std::fs::write(&bad, "127.0.0.1\n127.0.0.1:2101\nhost:port\n")?;
        let message = read_hosts(&bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("bad:1: `127.0.0.1` is not host:port"), "{message}");
        assert!(message.contains("bad:3: `host:port`"), "{message}");
        Ok(())
    }

    #[test]
    fn a_process_outside_the_hosts_file_is_refused() {
        assert!(communication(2, Some((2, vec!["a:1".into(), "b:1".into()]))).is_err());
        assert!(communication(0, None).is_err());
        assert!(matches!(communication(2, None), Ok(CommunicationConfig::Process(2))));
        assert!(matches!(
            communication(2, Some((0, vec!["a:1".into()]))),
            Ok(CommunicationConfig::Process(2))
        ));
    }
}
