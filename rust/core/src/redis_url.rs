//! A `redis::Client` for a URL as Celery and redis-py users write it.
//!
//! The workers' URL is the server's URL, so TLS options come the way redis-py reads them, in the
//! query: `rediss://host:6380/0?ssl_cert_reqs=none`, or `?ssl_ca_certs=/etc/ca.pem` (and
//! `ssl_certfile` + `ssl_keyfile` for a client certificate). The redis crate ignores those: it wants
//! `#insecure` to skip verification and certificates as bytes. They are translated here. Without
//! options, a `rediss://` server is verified against the system's trust store.

use redis::{Client, ErrorKind, RedisError, RedisResult, TlsCertificates};

pub fn client(url: &str) -> RedisResult<Client> {
    if !url.starts_with("rediss://") {
        return Client::open(url);
    }
    let mut parsed = url::Url::parse(url).map_err(|e| invalid("invalid rediss:// URL", e.to_string()))?;
    let mut options = TlsOptions::default();
    let mut kept = Vec::new();
    for (key, value) in parsed.query_pairs() {
        match &*key {
            "ssl_cert_reqs" => options.verify = verify(&value)?,
            "ssl_ca_certs" => options.ca = Some(read("ssl_ca_certs", &value)?),
            "ssl_certfile" => options.cert = Some(read("ssl_certfile", &value)?),
            "ssl_keyfile" => options.key = Some(read("ssl_keyfile", &value)?),
            _ => kept.push((key.into_owned(), value.into_owned())),
        }
    }
    parsed.set_query(None);
    if !kept.is_empty() {
        parsed.query_pairs_mut().extend_pairs(&kept);
    }
    if !options.verify {
        parsed.set_fragment(Some("insecure"));
        return Client::open(parsed.as_str());
    }
    let client_tls = match (options.cert, options.key) {
        (Some(client_cert), Some(client_key)) => Some(redis::ClientTlsConfig { client_cert, client_key }),
        (None, None) => None,
        _ => return Err(invalid("TLS client certificate", "ssl_certfile and ssl_keyfile go together".into())),
    };
    if options.ca.is_none() && client_tls.is_none() {
        return Client::open(parsed.as_str());
    }
    Client::build_with_tls(parsed.as_str(), TlsCertificates { client_tls, root_cert: options.ca })
}

struct TlsOptions {
    verify: bool,
    ca: Option<Vec<u8>>,
    cert: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions { verify: true, ca: None, cert: None, key: None }
    }
}

/// redis-py's values, and the `ssl` module's names Celery's documentation uses.
fn verify(value: &str) -> RedisResult<bool> {
    match value.to_ascii_lowercase().trim_start_matches("cert_") {
        "none" => Ok(false),
        "optional" | "required" => Ok(true),
        _ => Err(invalid("ssl_cert_reqs", format!("{value:?}: use none, optional or required"))),
    }
}

fn read(option: &'static str, path: &str) -> RedisResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| invalid(option, format!("cannot read {path}: {e}")))
}

fn invalid(what: &'static str, detail: String) -> RedisError {
    RedisError::from((ErrorKind::InvalidClientConfig, what, detail))
}

#[cfg(test)]
mod tests {
    use redis::ConnectionAddr;

    use super::*;

    fn addr(url: &str) -> ConnectionAddr {
        client(url).unwrap().get_connection_info().addr().clone()
    }

    #[test]
    fn cert_reqs_none_is_an_insecure_connection_in_any_spelling() {
        for reqs in ["none", "CERT_NONE", "cert_none"] {
            let url = format!("rediss://:pw@cache.example:6380/2?ssl_cert_reqs={reqs}");
            assert!(matches!(addr(&url), ConnectionAddr::TcpTls { insecure: true, .. }), "{reqs}");
            assert_eq!(client(&url).unwrap().get_connection_info().redis_settings().db(), 2);
        }
        assert!(matches!(addr("rediss://h:6380/0"), ConnectionAddr::TcpTls { insecure: false, .. }));
        assert!(matches!(addr("rediss://h/0?ssl_cert_reqs=CERT_REQUIRED"), ConnectionAddr::TcpTls { insecure: false, .. }));
    }

    #[test]
    fn bad_options_say_what_is_wrong() {
        let message = |url: &str| client(url).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message("rediss://h/0?ssl_cert_reqs=maybe").contains("use none, optional or required"));
        assert!(message("rediss://h/0?ssl_ca_certs=/nonexistent/ca.pem").contains("cannot read /nonexistent/ca.pem"));
        let key_alone = std::env::temp_dir().join("stemtrace-redis-url-test.pem");
        std::fs::write(&key_alone, b"not a key").unwrap();
        assert!(message(&format!("rediss://h/0?ssl_keyfile={}", key_alone.display())).contains("go together"));
    }

    #[test]
    fn other_urls_are_the_redis_crates_own() {
        assert!(matches!(addr("redis://h:7000/1?ssl_cert_reqs=none"), ConnectionAddr::Tcp(_, 7000)));
        assert!(matches!(addr("unix:///tmp/redis.sock?db=3"), ConnectionAddr::Unix(_)));
    }
}
