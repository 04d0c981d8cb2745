//! Configuration: built-in defaults < `hod.toml` < `HOD_*` environment < command-line flags.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use hod_db::DatabaseUrl;
use hod_db::vault::MasterKey;
use serde::{Deserialize, Serialize};

/// Keys accepted in `hod.toml` and as `HOD_<KEY>` environment variables.
pub const KEYS: &[&str] = &[
    "addr",
    "database_url",
    "data_dir",
    "public_url",
    "noreply_address",
    "program_time_zone",
    "log",
    "log_format",
    "db_max_connections",
    "db_connect_timeout_secs",
    "http_header_timeout_secs",
    "http_body_timeout_secs",
    "http_max_body_bytes",
    "http_max_connections",
    "metrics_allow",
    "metrics_token",
    "smtp_url",
    "sms_url",
    "sms_from",
    "push_endpoints",
    "trusted_proxies",
    "data_key",
    "data_key_file",
];

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where `hod serve` listens.
    pub addr: SocketAddr,
    /// `postgres://…` or `sqlite://…`; empty = a SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Where the default SQLite database lives.
    pub data_dir: PathBuf,
    /// Base of links in messages; empty = `http://{addr}`.
    pub public_url: Option<String>,
    /// Sender of every email.
    pub noreply_address: String,
    /// Whose calendar decides "today" for plan years and state changes.
    pub program_time_zone: String,
    /// Log filter, e.g. `info` or `hod=debug,info`.
    pub log: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    pub db_max_connections: u32,
    pub db_connect_timeout_secs: u64,
    /// Seconds a client has to send a request's head, from connecting or from the end of its
    /// previous response (so also how long an idle kept-alive connection stays open).
    pub http_header_timeout_secs: u64,
    /// Seconds a client has to send a request's body once its head arrived (then `408`).
    pub http_body_timeout_secs: u64,
    /// Largest request body in bytes (then `413`).
    pub http_max_body_bytes: usize,
    /// Connections served at once (lowered to fit the process's descriptor limit).
    pub http_max_connections: usize,
    /// Addresses or networks besides loopback that may read `/metrics`, comma-separated
    /// (`10.0.0.5, 10.1.0.0/16`).
    pub metrics_allow: String,
    /// A bearer token that opens `/metrics` from anywhere; empty = none.
    #[serde(deserialize_with = "maybe_text")]
    pub metrics_token: Option<String>,
    /// Email through this SMTP server (SPEC.md §7.1); empty = kept in the local outbox.
    pub smtp_url: Option<String>,
    /// Texts through this Twilio-compatible Messages API; empty = kept in the local outbox.
    pub sms_url: Option<String>,
    /// The sending number (`+15125550100`) or messaging service (`MG…`).
    #[serde(deserialize_with = "text")]
    pub sms_from: String,
    /// The hosts a Web Push subscription may point at, comma-separated (`*.` for any
    /// subdomain).
    pub push_endpoints: String,
    /// Reverse proxies in front of `hod`, comma-separated addresses or networks: from them,
    /// `X-Forwarded-For` names the client (for throttling and the audit log).
    pub trusted_proxies: String,
    /// The master key of personal data at rest (32 random bytes as base64; `hod` makes one
    /// in `data_key_file` when this is empty). Every node of a database needs the same.
    #[serde(deserialize_with = "maybe_text")]
    pub data_key: Option<String>,
    /// Where the master key is kept when `data_key` is empty; empty = `data.key` in
    /// `data_dir`. Made on first start, readable by its owner only.
    pub data_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            data_dir: PathBuf::from("hod-data"),
            public_url: None,
            noreply_address: "noreply@localhost".into(),
            program_time_zone: "America/New_York".into(),
            log: "info".into(),
            log_format: LogFormat::Text,
            db_max_connections: 16,
            db_connect_timeout_secs: 5,
            http_header_timeout_secs: 10,
            http_body_timeout_secs: 20,
            http_max_body_bytes: 256 * 1024,
            http_max_connections: 1024,
            metrics_allow: String::new(),
            metrics_token: None,
            smtp_url: None,
            sms_url: None,
            sms_from: String::new(),
            push_endpoints: hod_app::push::DEFAULT_ENDPOINTS.into(),
            trusted_proxies: String::new(),
            data_key: None,
            data_key_file: None,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_ref()
                    .map(|u| DatabaseUrl::new(u.clone()).to_string()),
            )
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("noreply_address", &self.noreply_address)
            .field("program_time_zone", &self.program_time_zone)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field(
                "smtp_url",
                &self.smtp_url.as_deref().map(hod_notify::SmtpUrl::parse),
            )
            .field(
                "sms_url",
                &self.sms_url.as_deref().map(hod_notify::SmsUrl::parse),
            )
            .field("sms_from", &self.sms_from)
            .field("push_endpoints", &self.push_endpoints)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("data_key_file", &self.data_key_file)
            .finish_non_exhaustive()
    }
}

/// Values given on the command line; `None` leaves the lower layers' value.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads the configuration. `file` is `--config`; without it `hod.toml` in the current
    /// directory is read if it exists.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let file = match file {
            Some(path) if !path.exists() => {
                bail!("configuration file {} does not exist", path.display())
            }
            Some(path) => Some(path.to_path_buf()),
            None => Some(PathBuf::from("hod.toml")).filter(|p| p.exists()),
        };
        if let Some(path) = &file {
            check_toml_syntax(path)?;
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Config = figment
            .merge(Env::prefixed("HOD_").only(KEYS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| anyhow::anyhow!(one_line(&e.to_string())))
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        jiff::tz::TimeZone::get(&self.program_time_zone).with_context(|| {
            format!(
                "program_time_zone {:?} is not an IANA time zone",
                self.program_time_zone
            )
        })?;
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("public_url {url:?} must start with http:// or https://");
        }
        if let Some(url) = &self.database_url {
            DatabaseUrl::new(url.clone()).backend()?;
        }
        if self.db_max_connections == 0 {
            bail!("db_max_connections must be at least 1");
        }
        for (key, value) in [
            ("http_header_timeout_secs", self.http_header_timeout_secs),
            ("http_body_timeout_secs", self.http_body_timeout_secs),
        ] {
            if !(1..=3600).contains(&value) {
                bail!("{key} must be 1 to 3600 seconds, not {value}");
            }
        }
        if self.http_max_body_bytes < 1024 {
            bail!("http_max_body_bytes must be at least 1024");
        }
        if self.http_max_connections == 0 {
            bail!("http_max_connections must be at least 1");
        }
        self.metrics_networks()?;
        self.trusted_proxies()?;
        self.smtp()?;
        self.sms()?;
        if self.push_endpoints().is_empty() {
            bail!(
                "push_endpoints names no host (the default: {})",
                hod_app::push::DEFAULT_ENDPOINTS
            );
        }
        Ok(())
    }

    /// The master key of personal data at rest: `data_key`, else the key file, made (owner
    /// read-write only) when there is none yet.
    pub fn master_key(&self) -> anyhow::Result<MasterKey> {
        if let Some(key) = &self.data_key {
            return MasterKey::parse(key).map_err(|e| anyhow::anyhow!("data_key {e}"));
        }
        let path = self
            .data_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("data.key"));
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                refuse_if_others_can_read(&path)?;
                MasterKey::parse(&text)
                    .map_err(|e| anyhow::anyhow!("data key file {}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate();
                write_key_file(&path, &key)?;
                tracing::warn!(
                    file = %path.display(),
                    "made a new master key for personal data: keep a copy with the backups, \
                     without it the database cannot be read"
                );
                Ok(key)
            }
            Err(e) => {
                Err(e).with_context(|| format!("cannot read data key file {}", path.display()))
            }
        }
    }

    /// `push_endpoints` as a list.
    pub fn push_endpoints(&self) -> Vec<String> {
        self.push_endpoints
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The SMS client of `sms_url` and `sms_from`; `None` when texts stay in the local outbox.
    pub fn sms(&self) -> anyhow::Result<Option<hod_notify::Sms>> {
        match self.sms_url.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(url) => Ok(Some(hod_notify::Sms::new(
                hod_notify::SmsUrl::parse(url)?,
                &self.sms_from,
            )?)),
        }
    }

    /// `smtp_url` parsed; `None` when email stays in the local outbox.
    pub fn smtp(&self) -> anyhow::Result<Option<hod_notify::SmtpUrl>> {
        match self.smtp_url.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(url) => Ok(Some(hod_notify::SmtpUrl::parse(url)?)),
        }
    }

    /// `metrics_allow` parsed.
    pub fn metrics_networks(&self) -> anyhow::Result<Vec<hod_web::peer::IpNet>> {
        networks("metrics_allow", &self.metrics_allow)
    }

    /// `trusted_proxies` parsed.
    pub fn trusted_proxies(&self) -> anyhow::Result<Vec<hod_web::peer::IpNet>> {
        networks("trusted_proxies", &self.trusted_proxies)
    }

    /// The configured database, or a SQLite file named `default_file` in the data directory.
    pub fn database_url(&self, default_file: &str) -> DatabaseUrl {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => DatabaseUrl::new(url.trim()),
            _ => DatabaseUrl::sqlite_file(&self.data_dir.join(default_file)),
        }
    }

    /// The configured public URL, else the listening address; a loopback address is named
    /// `localhost`, the one host name browsers accept for passkeys without TLS.
    pub fn public_url(&self, listening_on: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| {
                if listening_on.ip().is_loopback() {
                    format!("http://localhost:{}", listening_on.port())
                } else {
                    format!("http://{listening_on}")
                }
            })
            .trim_end_matches('/')
            .to_owned()
    }
}

/// A comma-separated list of addresses and networks.
fn networks(key: &str, list: &str) -> anyhow::Result<Vec<hod_web::peer::IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            hod_web::peer::IpNet::parse(s).with_context(|| {
                format!("{key}: {s:?} is not an IP address or network (10.0.0.5, 10.1.0.0/16)")
            })
        })
        .collect()
}

/// A value that is text even where it looks like a number: the environment's
/// `HOD_SMS_FROM=+15125550100` reaches serde as the integer 15125550100.
#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    Written(String),
    Unsigned(u64),
    Signed(i64),
}

impl Text {
    fn into_string(self, plus: bool) -> String {
        match self {
            Self::Written(t) => t,
            // A leading `+` is what made it look like a number: a phone number keeps it.
            Self::Unsigned(n) if plus => format!("+{n}"),
            Self::Unsigned(n) => n.to_string(),
            Self::Signed(n) => n.to_string(),
        }
    }
}

fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Text::deserialize(d).map(|t| t.into_string(true))
}

fn maybe_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<Text>::deserialize(d).map(|t| t.map(|t| t.into_string(false)))
}

/// A TOML syntax error as one line: file, line, column, what is wrong.
fn write_key_file(path: &Path, key: &MasterKey) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create data key file {}", path.display()))?;
    writeln!(file, "{}", key.encoded())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write data key file {}", path.display()))
}

/// A key file others can read is refused, as `ssh` refuses such a private key.
fn refuse_if_others_can_read(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read data key file {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "data key file {} can be read by others (mode {:o}): `chmod 600` it",
                path.display(),
                mode & 0o777
            );
        }
    }
    Ok(())
}

fn check_toml_syntax(path: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if let Err(e) = text.parse::<toml::Table>() {
        let (line, col) = e.span().map_or((1, 1), |s| {
            let before = &text[..s.start.min(text.len())];
            (
                before.matches('\n').count() + 1,
                before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
            )
        });
        bail!(
            "{} line {line}, column {col}: {}",
            path.display(),
            one_line(e.message())
        );
    }
    Ok(())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
