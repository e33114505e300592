//! TLS to the real local Kafka and Cassandra (`scripts/services` gives Kafka a mutual-TLS
//! listener and Cassandra's CQL port TLS, both with certificates from its own CA, and exports
//! `KAFKA_TLS_BROKERS` and `PRICESTREAM_SERVICES_TLS_DIR`). The client keys and certificates
//! are made here with `openssl`: a client certificate from the services' CA (its key
//! encrypted), a CA nobody trusts, and a server certificate for another name, served by a
//! TLS server in the test for the name checks.
//!
//! Checked: the right CA (and, for Kafka, the client certificate) connects and works; a wrong
//! CA, a missing client certificate or a certificate for another name is refused, and turning
//! `verify_hostname` off accepts the last one only; no passphrase reaches a log line or a
//! config's `Debug`.

use anyhow::{Context, ensure};
use pricestream_kafka::{QuietContext, client_config};
use pricestream_runtime::config::{CassandraConfig, KafkaConfig, TlsConfig};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const PASSPHRASE: &str = "tls-test-passphrase-7f3a";

/// Every log line of this process (librdkafka's included, through its client context).
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Runs `openssl` in `dir` with the whitespace-separated words of `command`.
fn openssl(dir: &Path, command: &str) -> anyhow::Result<()> {
    let output = Command::new("openssl")
        .args(command.split_whitespace())
        .current_dir(dir)
        .output()
        .context("running openssl")?;
    ensure!(output.status.success(), "openssl {command}: {}", String::from_utf8_lossy(&output.stderr));
    Ok(())
}

/// The services' TLS folder (their CA and key), from `scripts/services up`.
fn services_tls() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("PRICESTREAM_SERVICES_TLS_DIR").map(PathBuf::from).context(
        "PRICESTREAM_SERVICES_TLS_DIR is not set: run the tests with the exports of `scripts/services up` \
         (its Kafka and Cassandra have the TLS listeners these tests need)",
    )?;
    ensure!(dir.join("ca.key").is_file(), "{} holds no CA key", dir.display());
    Ok(dir)
}

/// Client material in a fresh folder: `client.pem` with its key `client.key` (encrypted with
/// [`PASSPHRASE`]) and `client-plain.key`, from the services' CA; `wrong-ca.pem`; and
/// `other.pem` / `other.key`, a server certificate from the services' CA for another name.
fn make_material(services: &Path) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::copy(services.join("ca.pem"), d.join("services-ca.pem"))?;
    std::fs::copy(services.join("ca.key"), d.join("services-ca.key"))?;
    let pass = format!("pass:{PASSPHRASE}");
    // NAME.csr and NAME.ext -> NAME.pem, issued by the services' CA.
    let issue = |name: &str, extensions: &str| {
        std::fs::write(d.join(format!("{name}.ext")), extensions)?;
        openssl(
            d,
            &format!(
                "x509 -req -days 1 -in {name}.csr -extfile {name}.ext -out {name}.pem \
                 -CA services-ca.pem -CAkey services-ca.key -CAserial serial -CAcreateserial"
            ),
        )
    };
    openssl(d, &format!("genpkey -algorithm RSA -aes-128-cbc -pass {pass} -out client.key"))?;
    openssl(d, &format!("pkey -in client.key -passin {pass} -out client-plain.key"))?;
    openssl(
        d,
        &format!("req -new -key client.key -passin {pass} -subj /CN=pricestream-tls-test -out client.csr"),
    )?;
    issue("client", "extendedKeyUsage=clientAuth\n")?;
    openssl(
        d,
        "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=untrusted-ca -keyout wrong-ca.key -out wrong-ca.pem",
    )?;
    openssl(d, "req -new -newkey rsa:2048 -nodes -subj /CN=other.example -keyout other.key -out other.csr")?;
    issue("other", "subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n")?;
    Ok(dir)
}

/// A TLS server on a free port of 127.0.0.1 that presents `other.pem` (a certificate from the
/// services' CA for `other.example` only) and hangs up after each handshake.
struct OtherNameServer {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl OtherNameServer {
    async fn start(material: &Path) -> anyhow::Result<Self> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain =
            CertificateDer::pem_file_iter(material.join("other.pem"))?.collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_file(material.join("other.key"))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
                    }
                });
            }
        });
        Ok(OtherNameServer { port, task })
    }
}

impl Drop for OtherNameServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn kafka_tls(material: &Path, ca: &Path, client_certificate: bool) -> KafkaConfig {
    let brokers = std::env::var("KAFKA_TLS_BROKERS").unwrap_or_else(|_| "127.0.0.1:9094".into());
    KafkaConfig {
        brokers,
        security_protocol: "ssl".into(),
        tls: Some(TlsConfig {
            ca_file: Some(ca.to_path_buf()),
            certificate_file: client_certificate.then(|| material.join("client.pem")),
            key_file: client_certificate.then(|| material.join("client.key")),
            key_password: client_certificate.then(|| PASSPHRASE.into()),
            verify_hostname: true,
        }),
        ..KafkaConfig::default()
    }
}

/// Sends one message with `config`; the error when it is not acknowledged within `wait`.
async fn produce(config: &KafkaConfig, topic: &str, wait: Duration) -> anyhow::Result<()> {
    let mut client = client_config(config);
    client.set("message.timeout.ms", wait.as_millis().to_string());
    let producer: FutureProducer<QuietContext> = client.create_with_context(QuietContext::default())?;
    let record = FutureRecord::to(topic).key("k").payload("tls");
    let sent = producer.send(record, Duration::from_secs(0)).await.map_err(|(e, _)| anyhow::Error::from(e));
    producer.flush(Duration::from_secs(1)).ok();
    sent.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_mutual_tls_needs_the_right_ca_a_client_certificate_and_the_right_name() -> anyhow::Result<()> {
    logs();
    let services = services_tls()?;
    let material = make_material(&services)?;
    let m = material.path();
    let ca = services.join("ca.pem");
    let topic = format!("pricestream-tls-test-{}", uuid::Uuid::new_v4().simple());
    let config = kafka_tls(m, &ca, true);

    produce(&config, &topic, Duration::from_secs(30))
        .await
        .context("with the services' CA and a client certificate")?;

    let wrong_ca = kafka_tls(m, &m.join("wrong-ca.pem"), true);
    ensure!(
        produce(&wrong_ca, &topic, Duration::from_secs(5)).await.is_err(),
        "a CA nobody trusts was accepted"
    );
    let anonymous = kafka_tls(m, &ca, false);
    ensure!(
        produce(&anonymous, &topic, Duration::from_secs(5)).await.is_err(),
        "no client certificate was accepted"
    );

    // A server with a good chain for another name: refused, unless the name check is off (the
    // handshake then passes, and the server, which is no broker, hangs up).
    let other = OtherNameServer::start(m).await?;
    let mut wrong_name = kafka_tls(m, &ca, true);
    wrong_name.brokers = format!("127.0.0.1:{}", other.port);
    let before = logged().len();
    ensure!(produce(&wrong_name, &topic, Duration::from_secs(5)).await.is_err(), "no broker there");
    let refused = logged()[before..].to_owned();
    ensure!(refused.contains("SSL handshake failed"), "the name mismatch is not reported:\n{refused}");
    if let Some(tls) = wrong_name.tls.as_mut() {
        tls.verify_hostname = false;
    }
    let before = logged().len();
    ensure!(produce(&wrong_name, &topic, Duration::from_secs(5)).await.is_err(), "no broker there");
    let accepted = logged()[before..].to_owned();
    ensure!(
        !accepted.contains("SSL handshake failed"),
        "the handshake failed without the name check:\n{accepted}"
    );
    drop(other);

    let all = logged();
    ensure!(
        all.contains("certificate verify failed"),
        "the wrong CA left no log line: the log check below would prove nothing"
    );
    ensure!(!all.contains(PASSPHRASE), "a log line holds the key passphrase");
    ensure!(!format!("{config:?}").contains(PASSPHRASE), "the config's Debug shows the passphrase");
    Ok(())
}

fn cassandra_tls(ca: &Path, material: &Path) -> CassandraConfig {
    let mut config = CassandraConfig::default();
    if let Ok(points) = std::env::var("CASSANDRA_CONTACT_POINTS") {
        config.contact_points = points.split(',').map(str::to_owned).collect();
    }
    config.request_timeout_ms = 5_000;
    config.tls = Some(TlsConfig {
        ca_file: Some(ca.to_path_buf()),
        certificate_file: Some(material.join("client.pem")),
        key_file: Some(material.join("client-plain.key")),
        ..TlsConfig::default()
    });
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cassandra_tls_needs_the_right_ca_and_the_node_address_in_the_certificate() -> anyhow::Result<()> {
    let services = services_tls()?;
    let material = make_material(&services)?;
    let m = material.path();
    let config = cassandra_tls(&services.join("ca.pem"), m);

    let session = pricestream_cassandra::connect(&config).await.context("with the services' CA")?;
    let rows =
        session.query_unpaged("SELECT release_version FROM system.local", ()).await?.into_rows_result()?;
    let (version,) = rows.single_row::<(String,)>()?;
    ensure!(!version.is_empty(), "a query over TLS returned nothing");

    let wrong_ca = cassandra_tls(&m.join("wrong-ca.pem"), m);
    let error =
        pricestream_cassandra::connect(&wrong_ca).await.err().context("a CA nobody trusts was accepted")?;
    ensure!(error.to_string().contains("certificate"), "{error}");
    ensure!(
        error.fault() == pricestream_runtime::fault::Fault::Fatal,
        "a distrusted certificate is not an outage"
    );

    // The driver connects to node addresses: a certificate without 127.0.0.1 is refused, and
    // accepted with the name check off (then the server, no Cassandra, fails the protocol).
    let other = OtherNameServer::start(m).await?;
    let mut wrong_name = cassandra_tls(&services.join("ca.pem"), m);
    wrong_name.contact_points = vec![format!("127.0.0.1:{}", other.port)];
    let refused = pricestream_cassandra::connect(&wrong_name).await.err().context("no Cassandra there")?;
    ensure!(refused.to_string().contains("not valid for name \"127.0.0.1\""), "{refused}");
    if let Some(tls) = wrong_name.tls.as_mut() {
        tls.verify_hostname = false;
    }
    let failed = pricestream_cassandra::connect(&wrong_name).await.err().context("no Cassandra there")?;
    ensure!(
        !failed.to_string().contains("certificate"),
        "the certificate was refused without the name check: {failed}"
    );
    Ok(())
}
