//! A `redis::Client` for a URL as Celery and redis-py users write it.
//!
//! The workers' URL is the server's URL, so TLS options come the way redis-py reads them, in the
//! query: `rediss://host:6380/0?ssl_cert_reqs=none`, or `?ssl_ca_certs=/etc/ca.pem` (and
//! `ssl_certfile` + `ssl_keyfile` for a client certificate). The redis crate ignores those: it wants
//! `#insecure` to skip verification and certificates as bytes. They are translated here. Without
//! options, a `rediss://` server is verified against the system's trust store.
//!
//! Sentinels too, in Celery's spelling: `sentinel://[:pw@]s1:26379;sentinel://s2:26379/0?master_name=x`
//! (`&sentinel_password=…` when the sentinels want one). The sentinels are asked in turn for the
//! master's address on every (re)connect, so the consumer follows a failover when it reconnects.

use std::collections::HashMap;
use std::time::Duration;

use redis::{AsyncConnectionConfig, Client, ErrorKind, RedisError, RedisResult, TlsCertificates};

use crate::tls::{self, TlsOptions};

const SENTINEL_TIMEOUT: Duration = Duration::from_secs(2);

/// The `redis` crate's client for `url`, and the TLS settings of a `rediss://` one for the engine's reader.
pub async fn client(url: &str) -> RedisResult<(Client, Option<TlsOptions>)> {
    if url.get(..11).is_some_and(|s| s.eq_ignore_ascii_case("sentinel://")) {
        return Ok((Client::open(master_url(url).await?)?, None));
    }
    direct_client(url)
}

/// The master a `sentinel://` URL names, as a `redis://` URL with the credentials and database it gives.
async fn master_url(url: &str) -> RedisResult<String> {
    let parts = url
        .split(';')
        .filter(|p| !p.trim().is_empty())
        .map(|p| url::Url::parse(p.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("invalid sentinel:// URL", e.to_string()))?;
    let last = parts.last().ok_or_else(|| invalid("invalid sentinel:// URL", "no sentinel".into()))?;
    let query: HashMap<String, String> = last.query_pairs().into_owned().collect();
    let name = query.get("master_name").ok_or_else(|| invalid("sentinel:// URL", "add ?master_name=…".into()))?;
    let mut last_error = None;
    for part in &parts {
        let mut sentinel = url::Url::parse("redis://localhost").expect("a valid URL");
        let _ = sentinel.set_host(part.host_str());
        let _ = sentinel.set_port(Some(part.port().unwrap_or(26379)));
        let _ = sentinel.set_password(query.get("sentinel_password").map(String::as_str));
        match ask_master(sentinel.as_str(), name).await {
            Ok((host, port)) => {
                let mut master = url::Url::parse("redis://localhost").expect("a valid URL");
                let _ = master.set_host(Some(&host));
                let _ = master.set_port(Some(port));
                let _ = master.set_username(last.username());
                let _ = master.set_password(last.password());
                master.set_path(last.path());
                return Ok(master.into());
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| invalid("sentinel", "no sentinel answered".into())))
}

async fn ask_master(sentinel: &str, name: &str) -> RedisResult<(String, u16)> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(SENTINEL_TIMEOUT))
        .set_response_timeout(Some(SENTINEL_TIMEOUT));
    let mut conn = Client::open(sentinel)?.get_multiplexed_async_connection_with_config(&config).await?;
    let addr: Option<(String, u16)> =
        redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(name).query_async(&mut conn).await?;
    addr.ok_or_else(|| invalid("sentinel", format!("the sentinel knows no master named {name:?}")))
}

/// The client, and for `rediss://` the TLS settings the engine's own reader connects with.
fn direct_client(url: &str) -> RedisResult<(Client, Option<TlsOptions>)> {
    if !url.starts_with("rediss://") {
        return Ok((Client::open(url)?, None));
    }
    let mut parsed = url::Url::parse(url).map_err(|e| invalid("invalid rediss:// URL", e.to_string()))?;
    let mut options = TlsOptions::default();
    let (mut cert, mut key, mut kept) = (None, None, Vec::new());
    for (name, value) in parsed.query_pairs() {
        match &*name {
            "ssl_cert_reqs" => options.verify = tls::cert_reqs(&value).map_err(tls_option)?,
            "ssl_ca_certs" | "ssl_certfile" | "ssl_keyfile" => {
                let pem = tls::read_option(&name, &value).map_err(tls_option)?;
                *match &*name {
                    "ssl_ca_certs" => &mut options.ca,
                    "ssl_certfile" => &mut cert,
                    _ => &mut key,
                } = Some(pem);
            }
            _ => kept.push((name.into_owned(), value.into_owned())),
        }
    }
    options.identity = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err(invalid("TLS client certificate", "ssl_certfile and ssl_keyfile go together".into())),
    };
    if parsed.fragment() == Some("insecure") {
        options.verify = false; // the redis crate's own spelling
    }
    parsed.set_query(None);
    if !kept.is_empty() {
        parsed.query_pairs_mut().extend_pairs(&kept);
    }
    let client = if !options.verify {
        parsed.set_fragment(Some("insecure"));
        Client::open(parsed.as_str())?
    } else if options.ca.is_none() && options.identity.is_none() {
        Client::open(parsed.as_str())?
    } else {
        let client_tls = options.identity.clone().map(|(client_cert, client_key)| redis::ClientTlsConfig { client_cert, client_key });
        Client::build_with_tls(parsed.as_str(), TlsCertificates { client_tls, root_cert: options.ca.clone() })?
    };
    Ok((client, Some(options)))
}

fn tls_option(detail: String) -> RedisError {
    invalid("TLS option", detail)
}

fn invalid(what: &'static str, detail: String) -> RedisError {
    RedisError::from((ErrorKind::InvalidClientConfig, what, detail))
}

#[cfg(test)]
mod tests {
    use redis::ConnectionAddr;

    use super::*;

    fn addr(url: &str) -> ConnectionAddr {
        direct_client(url).unwrap().0.get_connection_info().addr().clone()
    }

    #[test]
    fn cert_reqs_none_is_an_insecure_connection_in_any_spelling() {
        for reqs in ["none", "CERT_NONE", "cert_none"] {
            let url = format!("rediss://:pw@cache.example:6380/2?ssl_cert_reqs={reqs}");
            assert!(matches!(addr(&url), ConnectionAddr::TcpTls { insecure: true, .. }), "{reqs}");
            assert_eq!(direct_client(&url).unwrap().0.get_connection_info().redis_settings().db(), 2);
        }
        assert!(matches!(addr("rediss://h:6380/0"), ConnectionAddr::TcpTls { insecure: false, .. }));
        assert!(matches!(addr("rediss://h/0?ssl_cert_reqs=CERT_REQUIRED"), ConnectionAddr::TcpTls { insecure: false, .. }));
    }

    #[test]
    fn bad_options_say_what_is_wrong() {
        let message = |url: &str| direct_client(url).err().map(|e| e.to_string()).unwrap_or_default();
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
