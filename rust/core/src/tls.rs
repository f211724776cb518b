//! TLS for the engine's own stream reader (`resp.rs`), with the settings `redis_url.rs` reads from
//! a `rediss://` URL: the system's trust store or a CA of the user's, a client certificate, or no
//! verification at all (`ssl_cert_reqs=none`). rustls with ring, as the `redis` crate and lapin use.

use std::io;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How a `rediss://` server is trusted and what this client presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    pub verify: bool,
    /// PEM: the CA to verify against instead of the system's.
    pub ca: Option<Vec<u8>>,
    /// PEM: a client certificate chain and its key.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions { verify: true, ca: None, identity: None }
    }
}

impl TlsOptions {
    pub async fn connect(&self, tcp: TcpStream, host: &str) -> io::Result<TlsStream<TcpStream>> {
        let name = ServerName::try_from(host.to_owned()).map_err(|e| invalid(format!("server name {host:?}: {e}")))?;
        TlsConnector::from(Arc::new(self.config()?)).connect(name, tcp).await
    }

    fn config(&self) -> io::Result<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?;
        let builder = if self.verify {
            builder.with_root_certificates(self.roots()?)
        } else {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        };
        match &self.identity {
            None => Ok(builder.with_no_client_auth()),
            Some((chain, key)) => {
                let chain = CertificateDer::pem_slice_iter(chain)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| invalid(format!("ssl_certfile: {e}")))?;
                let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid(format!("ssl_keyfile: {e}")))?;
                builder.with_client_auth_cert(chain, key).map_err(|e| invalid(e.to_string()))
            }
        }
    }

    fn roots(&self) -> io::Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        match &self.ca {
            Some(pem) => {
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| invalid(format!("ssl_ca_certs: {e}")))?;
                    roots.add(cert).map_err(|e| invalid(format!("ssl_ca_certs: {e}")))?;
                }
            }
            None => {
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
        }
        Ok(roots)
    }
}

/// `ssl_cert_reqs` as redis-py reads it (also in the `ssl` module's names Celery's documentation
/// uses): whether the server's certificate is verified.
pub fn cert_reqs(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().trim_start_matches("cert_") {
        "none" => Ok(false),
        "optional" | "required" => Ok(true),
        _ => Err(format!("ssl_cert_reqs={value:?}: use none, optional or required")),
    }
}

/// The file a URL's TLS option (`ssl_ca_certs`, …) names.
pub fn read_option(option: &str, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{option}: cannot read {path}: {e}"))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// `ssl_cert_reqs=none`: any certificate is taken, yet the handshake's signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
