//! TLS to Kafka and Cassandra: which CA the servers' certificates must chain to, the client
//! certificate for servers that ask for one (mutual TLS), and whether a server's certificate
//! must name the address connected to. The files are PEM, as a Kubernetes TLS Secret mounts
//! them.

use super::{Problems, Secret};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[kafka.tls]` or `[cassandra.tls]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// CA certificates (PEM) the server's certificate must chain to; unset: the system's.
    pub ca_file: Option<PathBuf>,
    /// Whether the server's certificate must name the host (Kafka) or the node's IP address
    /// (Cassandra) connected to. Turning it off keeps the chain check and drops the name check.
    pub verify_hostname: bool,
    /// Client certificate chain (PEM), for servers that require one.
    pub certificate_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
    /// Passphrase of an encrypted `key_file` (Kafka only).
    pub key_password: Option<Secret>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ca_file: None,
            certificate_file: None,
            key_file: None,
            key_password: None,
            verify_hostname: true,
        }
    }
}

impl TlsConfig {
    /// Records every problem under `prefix` (e.g. `kafka.tls`): files that cannot be read, a
    /// certificate without its key or a key without its certificate, and a `key_password`
    /// where the client cannot use one (`encrypted_keys` false).
    pub fn validate(&self, prefix: &str, encrypted_keys: bool, problems: &mut Problems) {
        let key = |k: &str| format!("{prefix}.{k}");
        for (name, path) in [
            ("ca_file", &self.ca_file),
            ("certificate_file", &self.certificate_file),
            ("key_file", &self.key_file),
        ] {
            if let Some(Err(error)) = path.as_deref().map(readable_file) {
                problems.add(&key(name), error);
            }
        }
        problems.check(
            self.certificate_file.is_some() == self.key_file.is_some(),
            &key("certificate_file"),
            "and `key_file` must be given together",
        );
        if self.key_password.is_some() {
            let problem = match (encrypted_keys, &self.key_file) {
                (false, _) => {
                    Some("is not supported: give `key_file` unencrypted (PKCS#8, PKCS#1 or SEC1 PEM)")
                }
                (true, None) => Some("is given without a `key_file`"),
                (true, Some(_)) => None,
            };
            if let Some(problem) = problem {
                problems.add(&key("key_password"), problem);
            }
        }
    }
}

/// Why `path` is not a file this process can read, if it is not.
fn readable_file(path: &Path) -> Result<(), String> {
    match std::fs::File::open(path).and_then(|file| file.metadata()) {
        Ok(metadata) if metadata.is_file() => Ok(()),
        Ok(_) => Err(format!("`{}` is not a file", path.display())),
        Err(error) => Err(format!("cannot read `{}`: {error}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_problem_with_its_key() {
        let config = TlsConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            certificate_file: Some(std::env::temp_dir()),
            key_password: Some("x".into()),
            ..TlsConfig::default()
        };
        let problems = Problems::collect(|problems| config.validate("kafka.tls", true, problems));
        let expected = [
            "`kafka.tls.ca_file` cannot read `/nonexistent/ca.pem`",
            "`kafka.tls.certificate_file` `",
            "and `key_file` must be given together",
            "`kafka.tls.key_password` is given without a `key_file`",
        ];
        let found: Vec<bool> =
            expected.iter().map(|e| problems.messages().iter().any(|m| m.contains(e))).collect();
        assert_eq!((found, problems.messages().len()), (vec![true; 4], 4), "{problems}");
        assert!(TlsConfig::default().verify_hostname);
        let cassandra = Problems::collect(|problems| config.validate("cassandra.tls", false, problems));
        assert!(
            cassandra.to_string().contains("`cassandra.tls.key_password` is not supported"),
            "{cassandra}"
        );
    }
}
