//! Pushing the fixture images to a registry (`--registry HOST[:PORT][/PREFIX]`), for clusters
//! podcheck cannot load images into: they pull them like any other image.
//!
//! The push sends the archive's own blobs and manifest bytes, so the pushed image has the
//! manifest digest the offline build gave it, and a pod's `imageID` names the same digest
//! whether the image was loaded or pulled. Blobs the registry has already are not sent again.

use std::fmt;
use std::str::FromStr;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::{FixtureImage, oci};

/// Where the fixture images go: `[http://]HOST[:PORT][/PREFIX]`. `http://` is a registry
/// without TLS (a local one); without it, HTTPS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    /// `HOST[:PORT]`, as references name it.
    pub host: String,
    /// Repository path components before the image's name (`team/podcheck`), or empty.
    pub prefix: String,
    pub plain_http: bool,
}

impl FromStr for Registry {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let form = "expected [http://]HOST[:PORT][/PREFIX], e.g. registry.example:5000/podcheck";
        let (plain_http, rest) = match s.split_once("://") {
            Some(("http", rest)) => (true, rest),
            Some(("https", rest)) => (false, rest),
            Some((scheme, _)) => return Err(format!("scheme `{scheme}://` ({form})")),
            None => (false, s),
        };
        let rest = rest.trim_end_matches('/');
        let (host, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        };
        let name_ok = !name.is_empty()
            && name
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !name_ok {
            return Err(format!("`{host}` is not a host name ({form})"));
        }
        if let Some(port) = port
            && port.parse::<u16>().map_or(true, |p| p == 0)
        {
            return Err(format!("`{port}` is not a port ({form})"));
        }
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
        };
        if !prefix.is_empty() && !prefix.split('/').all(component_ok) {
            return Err(format!(
                "`{prefix}` is not a repository path (lower-case letters, digits, `.`, `_`, `-`, \
                 between `/`; {form})"
            ));
        }
        Ok(Registry {
            host: host.to_string(),
            prefix: prefix.to_string(),
            plain_http,
        })
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.plain_http {
            f.write_str("http://")?;
        }
        f.write_str(&self.host)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

impl Registry {
    fn scheme(&self) -> &'static str {
        if self.plain_http { "http" } else { "https" }
    }

    /// The reference an image has in this registry: the same name and tag under its host and
    /// prefix (`HOST/PREFIX/kuard:<12 hex>`).
    pub fn reference(&self, image: &FixtureImage) -> String {
        let tag = image.reference.rsplit_once(':').map_or("", |(_, t)| t);
        match self.prefix.as_str() {
            "" => format!("{}/{}:{tag}", self.host, image.name),
            prefix => format!("{}/{prefix}/{}:{tag}", self.host, image.name),
        }
    }
}

/// An image in the registry.
#[derive(Clone, Debug)]
pub struct Pushed {
    pub name: String,
    pub reference: String,
    pub digest: String,
    /// Bytes sent: blobs the registry had already are not.
    pub bytes_sent: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "cannot reach the registry at {url}: {cause}; check the address and that the \
         registry runs and listens there (`curl {url}`){}",
        if *.plain_http { "" } else { ", or write http://HOST for a registry without TLS" }
    )]
    Unreachable {
        url: String,
        plain_http: bool,
        /// The error and its causes: reqwest's own message names only the request.
        cause: String,
        #[source]
        source: reqwest::Error,
    },

    #[error(
        "the registry at {url} answered HTTP {status}{}: it is not an OCI registry podcheck may \
         use; {}",
        if .body.is_empty() { String::new() } else { format!(" ({})", .body) },
        ping_hint(*.status)
    )]
    Ping {
        url: String,
        status: u16,
        body: String,
    },

    #[error(
        "the registry {registry} refused the push of {reference} ({what}): {detail}; {}",
        push_hint(.detail)
    )]
    Refused {
        registry: String,
        reference: String,
        what: String,
        detail: String,
        #[source]
        source: OciDistributionError,
    },

    #[error("reading the image archive for {name}: {detail}")]
    Archive { name: String, detail: String },
}

fn ping_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => {
            "give credentials in PODCHECK_REGISTRY_USERNAME and PODCHECK_REGISTRY_PASSWORD"
        }
        404 => {
            "the address must be the registry's own (its /v2/ answers), not a web page or a proxy path"
        }
        _ => "check the registry's logs",
    }
}

fn push_hint(detail: &str) -> &'static str {
    if detail.contains("UNAUTHORIZED") || detail.contains("DENIED") || detail.contains("401") {
        "give credentials that may push (PODCHECK_REGISTRY_USERNAME, PODCHECK_REGISTRY_PASSWORD), \
         or a PREFIX you may push to"
    } else if detail.contains("UNSUPPORTED") || detail.contains("405") {
        "the registry does not take pushes (a read-only registry or a pull-through cache); push \
         to one that does"
    } else {
        "check the registry's logs"
    }
}

/// What a refused request said: the HTTP status when the client kept it, else the registry's
/// OCI error codes and messages.
fn describe(e: &OciDistributionError) -> String {
    match e {
        OciDistributionError::ServerError { code, message, .. } => {
            format!("HTTP {code}: {}", message.trim())
        }
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .map(|e| format!("{}: {}", spelled(&e.code), e.message))
            .collect::<Vec<_>>()
            .join("; "),
        OciDistributionError::UnauthorizedError { .. } => "HTTP 401 UNAUTHORIZED".into(),
        other => other.to_string(),
    }
}

/// An OCI error code as the distribution spec spells it (`UNSUPPORTED`, `BLOB_UPLOAD_UNKNOWN`).
fn spelled(code: &oci_client::errors::OciErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{code:?}"),
    }
}

fn auth() -> RegistryAuth {
    // Credentials for a registry that wants them; anonymous when unset.
    match (
        crate::config::REGISTRY_USERNAME.get(),
        std::env::var(crate::config::REGISTRY_PASSWORD.name),
    ) {
        (Some(user), Ok(password)) => RegistryAuth::Basic(user, password),
        _ => RegistryAuth::Anonymous,
    }
}

/// reqwest's TLS needs a process-wide crypto provider; ring is the one kube already uses. A
/// provider installed before (by anyone) is as good. Call before building a reqwest client.
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Push every image, and return their references in the registry.
pub async fn push(
    registry: &Registry,
    images: &[FixtureImage],
) -> Result<Vec<Pushed>, RegistryError> {
    ensure_crypto_provider();
    ping(registry).await?;
    let client = Client::new(ClientConfig {
        protocol: if registry.plain_http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        ..Default::default()
    });
    let auth = auth();
    let mut pushed = Vec::with_capacity(images.len());
    for image in images {
        pushed.push(push_one(&client, &auth, registry, image).await?);
    }
    Ok(pushed)
}

/// `GET /v2/`: the registry is there and speaks the distribution API. A 401 is an answer too:
/// the client authenticates on the push itself.
async fn ping(registry: &Registry) -> Result<(), RegistryError> {
    let url = format!("{}://{}/v2/", registry.scheme(), registry.host);
    let unreachable = |source: reqwest::Error| RegistryError::Unreachable {
        url: url.clone(),
        plain_http: registry.plain_http,
        cause: crate::errors::chain(&source),
        source,
    };
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(unreachable)?;
    let answer = http.get(&url).send().await.map_err(unreachable)?;
    let status = answer.status().as_u16();
    if answer.status().is_success() || (status == 401 && has_credentials()) {
        return Ok(());
    }
    let body = answer.text().await.unwrap_or_default();
    Err(RegistryError::Ping {
        url,
        status,
        body: body.trim().chars().take(200).collect(),
    })
}

fn has_credentials() -> bool {
    !matches!(auth(), RegistryAuth::Anonymous)
}

async fn push_one(
    client: &Client,
    auth: &RegistryAuth,
    registry: &Registry,
    image: &FixtureImage,
) -> Result<Pushed, RegistryError> {
    let archive = super::read_archive(&image.archive).map_err(|e| RegistryError::Archive {
        name: image.name.clone(),
        detail: e.to_string(),
    })?;
    let target = registry.reference(image);
    let reference: Reference = target.parse().map_err(|e| RegistryError::Archive {
        name: image.name.clone(),
        detail: format!("`{target}` is not a reference: {e}"),
    })?;
    let refused = |what: &str| {
        let what = what.to_string();
        let registry = registry.to_string();
        let target = target.clone();
        move |source: OciDistributionError| RegistryError::Refused {
            detail: describe(&source),
            registry,
            reference: target,
            what,
            source,
        }
    };
    client
        .auth(&reference, auth, RegistryOperation::Push)
        .await
        .map_err(refused("authenticating"))?;

    let mut blobs: Vec<(&str, &[u8])> = vec![(
        archive.manifest.config.digest.as_str(),
        archive.config_bytes.as_slice(),
    )];
    for (desc, data) in archive.manifest.layers.iter().zip(&archive.layers) {
        blobs.push((desc.digest.as_str(), data.as_slice()));
    }
    let mut bytes_sent = 0;
    for (digest, data) in blobs {
        let what = format!("blob {digest}");
        if client
            .blob_exists(&reference, digest)
            .await
            .map_err(refused(&what))?
        {
            continue;
        }
        client
            .push_blob(&reference, data.to_vec(), digest)
            .await
            .map_err(refused(&what))?;
        bytes_sent += data.len() as u64;
    }
    client
        .push_manifest_raw(
            &reference,
            archive.manifest_bytes.clone(),
            http::HeaderValue::from_static(oci::MEDIA_MANIFEST),
        )
        .await
        .map_err(refused("manifest"))?;
    bytes_sent += archive.manifest_bytes.len() as u64;
    tracing::info!(reference = %target, bytes_sent, "pushed fixture image");
    Ok(Pushed {
        name: image.name.clone(),
        reference: target,
        digest: archive.manifest_digest,
        bytes_sent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_into_host_prefix_and_scheme() {
        let r: Registry = "http://172.17.0.1:5000/podcheck/ci".parse().unwrap();
        assert_eq!(
            r,
            Registry {
                host: "172.17.0.1:5000".into(),
                prefix: "podcheck/ci".into(),
                plain_http: true
            }
        );
        assert_eq!(r.to_string(), "http://172.17.0.1:5000/podcheck/ci");
        let r: Registry = "registry.example".parse().unwrap();
        assert_eq!(
            (r.host.as_str(), r.prefix.as_str(), r.plain_http),
            ("registry.example", "", false)
        );
        let img = FixtureImage {
            name: "kuard".into(),
            reference: "podcheck.local/kuard:0123456789ab".into(),
            archive: "/x".into(),
            digest: "sha256:00".into(),
        };
        assert_eq!(r.reference(&img), "registry.example/kuard:0123456789ab");
        let r: Registry = "localhost:5001/a/".parse().unwrap();
        assert_eq!(r.reference(&img), "localhost:5001/a/kuard:0123456789ab");
    }

    #[rstest::rstest]
    #[case("ftp://x", "scheme `ftp://`")]
    #[case("", "`` is not a host name")]
    #[case("reg..example", "is not a host name")]
    #[case("reg:99999", "`99999` is not a port")]
    #[case("reg:0", "`0` is not a port")]
    #[case("reg/Team", "`Team` is not a repository path")]
    #[case("reg/a//b", "is not a repository path")]
    fn bad_addresses_say_what_is_wrong(#[case] input: &str, #[case] message: &str) {
        let e = input.parse::<Registry>().unwrap_err();
        assert!(e.contains(message), "{input:?}: {e}");
        assert!(e.contains("[http://]HOST[:PORT][/PREFIX]"), "{e}");
    }

    #[test]
    fn oci_error_codes_are_spelled_as_the_spec_does() {
        let e: oci_client::errors::OciEnvelope = serde_json::from_str(
            r#"{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}"#,
        )
        .unwrap();
        let detail = describe(&OciDistributionError::RegistryError {
            envelope: e,
            url: "http://r/v2/".into(),
        });
        assert_eq!(detail, "UNSUPPORTED: The operation is unsupported.");
        assert!(push_hint(&detail).contains("does not take pushes"));
    }
}
