//! Client TLS to Cassandra (`[cassandra.tls]`): a rustls configuration whose server check
//! trusts the configured CA (or the system's) and, unless turned off, requires the node's
//! certificate to name the IP address connected to (the driver connects to node addresses,
//! not names); with a client certificate for clusters that require one.

use pricestream_runtime::config::TlsConfig;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// The rustls client configuration `tls` describes; the error names the file or setting at
/// fault.
pub fn client_config(tls: &TlsConfig) -> Result<ClientConfig, String> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let roots = Arc::new(trusted_roots(tls.ca_file.as_deref())?);
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
        .build()
        .map_err(|e| format!("the trusted CA certificates: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> =
        if tls.verify_hostname { webpki } else { Arc::new(ChainOnly(webpki)) };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match (&tls.certificate_file, &tls.key_file) {
        (Some(certificate), Some(key)) => {
            let chain = certificates(certificate)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("`{}`: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("the client certificate and key: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// The CA certificates in `ca_file`, or the system's when there is none.
fn trusted_roots(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for certificate in certificates(path)? {
                roots.add(certificate).map_err(|e| format!("`{}`: {e}", path.display()))?;
            }
        }
        None => {
            let system = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(system.certs);
            if added == 0 {
                return Err("no `ca_file` given and no system CA certificates found".into());
            }
        }
    }
    Ok(roots)
}

/// Every certificate of a PEM file, in order; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let read = CertificateDer::pem_file_iter(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let chain = read.collect::<Result<Vec<_>, _>>().map_err(|e| format!("`{}`: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!("`{}` holds no PEM certificate", path.display()));
    }
    Ok(chain)
}

/// `verify_hostname = false`: the chain, dates and signatures are checked as usual; only a
/// certificate issued for another name or address is accepted.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_and_empty_files_are_named() {
        let missing = TlsConfig { ca_file: Some("/nonexistent/ca.pem".into()), ..TlsConfig::default() };
        let error = client_config(&missing).err().unwrap_or_default();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
        let dir = std::env::temp_dir().join(format!("pricestream-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("test setup");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("test setup");
        let config = TlsConfig { ca_file: Some(empty.clone()), ..TlsConfig::default() };
        let error = client_config(&config).err().unwrap_or_default();
        assert!(error.contains("holds no PEM certificate"), "{error}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
