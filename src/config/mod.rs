//! Configuration: a TOML file, then environment overrides (`LEADBOT_<SECTION>_<KEY>`,
//! `DATABASE_URL`), then validation that names the key and the file for every mistake.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::TimeDelta;

use crate::domain::registration::{self, RegistrationField};
use crate::domain::{EmailAddress, Locale};

/// A value that must never reach a log: Debug and Display print `***`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    None,
    StartTls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, for messages; `None` when built from the environment only.
    pub source: Option<PathBuf>,
    pub database_url: Secret,
    pub bot: BotConfig,
    pub imap: Option<ImapConfig>,
    pub smtp: Option<SmtpConfig>,
    pub schedule: ScheduleConfig,
    pub http: HttpConfig,
}

#[derive(Debug, Clone)]
pub struct BotConfig {
    pub address: EmailAddress,
    pub secret: Secret,
    pub staff_domains: Vec<String>,
    pub default_locale: Locale,
    /// Where deal registrations go for review.
    pub reviewers: Vec<EmailAddress>,
    /// The language the reviewers read (default: `default_locale`).
    pub reviewer_locale: Locale,
    /// Solutions eligible for deal registration after WON; empty = every won deal.
    pub registration_solutions: Vec<String>,
    /// What a registration must carry for a reviewer (`English|français` labels).
    pub registration_fields: Vec<RegistrationField>,
    /// The profile that takes requests no profile matches.
    pub fallback_profile: Option<String>,
    /// Without a fallback profile: the person told of requests no profile matches.
    pub operator_address: Option<EmailAddress>,
    /// Folder for the file mail transport (demo, or no SMTP configured).
    pub outbox_dir: Option<PathBuf>,
    /// Error answers to one sender, per kind, per hour.
    pub error_answers_per_hour: u32,
    /// Act on a reply only when the receiving server's Authentication-Results (from
    /// `authserv_id`) says DKIM or DMARC passed for the sender's domain.
    pub require_authentication: bool,
    /// The authserv-id of the receiving server whose Authentication-Results are trusted.
    pub authserv_id: Option<String>,
    /// Inbound messages larger than this (bytes) are kept in part and quarantined.
    pub max_inbound_size: usize,
}

#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: Secret,
    pub mailbox: String,
    pub quarantine_mailbox: String,
    /// PEM certificates of a private CA trusted for the server, beside the public roots.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Secret,
    pub max_attempts: u32,
    /// PEM certificates of a private CA trusted for the server, beside the public roots.
    pub ca_file: Option<PathBuf>,
    /// How many mails the outbox sends at once, each over its own connection.
    pub connections: usize,
}

#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub expiry: TimeDelta,
    pub hot_window: TimeDelta,
    pub first_reminder: TimeDelta,
    pub final_reminder: TimeDelta,
    pub response_target: TimeDelta,
    /// Local time of day the digest goes out, "HH:MM", in `digest_timezone` (a UTC offset).
    pub digest_time: chrono::NaiveTime,
    pub digest_utc_offset: chrono::FixedOffset,
    pub tick_interval: TimeDelta,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: not valid TOML: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: unknown key `{key}`{hint}")]
    UnknownKey {
        origin: String,
        key: String,
        hint: String,
    },
    #[error("{origin}: `{key}` is required: {why}")]
    Missing {
        origin: String,
        key: &'static str,
        why: &'static str,
    },
    #[error("{origin}: `{key}` = {value:?} is invalid: {message}")]
    Invalid {
        origin: String,
        key: String,
        value: String,
        message: String,
    },
}

/// 10 MiB: far above any request a person types, below the 25 MiB that parsing refuses.
pub const DEFAULT_MAX_INBOUND_SIZE: usize = 10 * 1024 * 1024;
/// `smtp.connections` unset: enough parallel sends to keep a local relay busy while each
/// waits for its 250 (and its own commit), few enough for any relay's per-client limit.
pub const DEFAULT_SMTP_CONNECTIONS: usize = 4;

/// The keys each section accepts; anything else is a typo worth reporting.
const KNOWN_KEYS: &[(&str, &[&str])] = &[
    ("database", &["url"]),
    (
        "bot",
        &[
            "address",
            "secret",
            "staff_domains",
            "default_locale",
            "reviewers",
            "reviewer_locale",
            "registration_solutions",
            "registration_fields",
            "fallback_profile",
            "operator_address",
            "outbox_dir",
            "error_answers_per_hour",
            "require_authentication",
            "authserv_id",
            "max_inbound_size",
        ],
    ),
    (
        "imap",
        &[
            "host",
            "port",
            "security",
            "username",
            "password",
            "mailbox",
            "quarantine_mailbox",
            "ca_file",
        ],
    ),
    (
        "smtp",
        &[
            "host",
            "port",
            "security",
            "username",
            "password",
            "max_attempts",
            "ca_file",
            "connections",
        ],
    ),
    (
        "schedule",
        &[
            "expiry",
            "hot_window",
            "first_reminder",
            "final_reminder",
            "response_target",
            "digest_time",
            "digest_timezone",
            "tick_interval",
        ],
    ),
    ("http", &["listen"]),
];

/// Key → value as text, after the file and the environment have been merged.
type Settings = BTreeMap<String, SettingValue>;

#[derive(Debug, Clone)]
enum SettingValue {
    Text(String),
    List(Vec<String>),
}

impl Config {
    /// Reads `path` (or, without one, `$LEADBOT_CONFIG`, else the environment alone).
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let path = path
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("LEADBOT_CONFIG").map(PathBuf::from));
        let text = match &path {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?,
            None => String::new(),
        };
        Self::from_parts(path, &text, &env)
    }

    /// The pure core of `load`: file text plus environment pairs.
    pub fn from_parts(
        path: Option<PathBuf>,
        text: &str,
        env: &[(String, String)],
    ) -> Result<Self, ConfigError> {
        let origin = path
            .as_ref()
            .map_or("configuration (environment)".to_string(), |p| {
                format!("config file {}", p.display())
            });
        let mut settings = read_file(text, &origin)?;
        apply_environment(&mut settings, env, &origin)?;
        let mut config = Validator {
            origin: &origin,
            settings: &settings,
        }
        .build()?;
        config.source = path;
        Ok(config)
    }
}

fn read_file(text: &str, origin: &str) -> Result<Settings, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        origin: origin.into(),
        message: e.message().to_string(),
    })?;
    let mut settings = Settings::new();
    for (section, body) in table {
        let Some(body) = body.as_table() else {
            return Err(unknown_key(origin, &section));
        };
        for (key, value) in body {
            let full_key = format!("{section}.{key}");
            if !is_known(&full_key) {
                return Err(unknown_key(origin, &full_key));
            }
            settings.insert(
                full_key.clone(),
                setting_from_toml(value, origin, &full_key)?,
            );
        }
    }
    Ok(settings)
}

fn setting_from_toml(
    value: &toml::Value,
    origin: &str,
    key: &str,
) -> Result<SettingValue, ConfigError> {
    let scalar = |v: &toml::Value| match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    let invalid = || ConfigError::Invalid {
        origin: origin.into(),
        key: key.into(),
        value: value.to_string(),
        message: "expected a string, a number or a list of strings".into(),
    };
    match value {
        toml::Value::Array(items) => items
            .iter()
            .map(|item| scalar(item).ok_or_else(invalid))
            .collect::<Result<_, _>>()
            .map(SettingValue::List),
        other => scalar(other).map(SettingValue::Text).ok_or_else(invalid),
    }
}

/// `LEADBOT_BOT_STAFF_DOMAINS=a.test,b.test` → `bot.staff_domains`; `DATABASE_URL` too.
fn apply_environment(
    settings: &mut Settings,
    env: &[(String, String)],
    origin: &str,
) -> Result<(), ConfigError> {
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some(url) = lookup("DATABASE_URL") {
        settings.insert("database.url".into(), SettingValue::Text(url));
    }
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("LEADBOT_") else {
            continue;
        };
        if rest == "CONFIG" || rest == "LOG" {
            continue; // the config file's own path; the log filter
        }
        let Some((section, key)) = rest.split_once('_') else {
            continue;
        };
        let full_key = format!("{}.{}", section.to_lowercase(), key.to_lowercase());
        if !is_known(&full_key) {
            return Err(unknown_key(
                origin,
                &format!("{full_key} (from environment variable {name})"),
            ));
        }
        settings.insert(full_key, SettingValue::Text(value.clone()));
    }
    Ok(())
}

fn is_known(full_key: &str) -> bool {
    full_key.split_once('.').is_some_and(|(section, key)| {
        KNOWN_KEYS
            .iter()
            .any(|(s, keys)| *s == section && keys.contains(&key))
    })
}

fn unknown_key(origin: &str, key: &str) -> ConfigError {
    let section = key.split('.').next().unwrap_or_default();
    let hint = KNOWN_KEYS
        .iter()
        .find(|(s, _)| *s == section)
        .map(|(_, keys)| format!(" (keys of [{section}]: {})", keys.join(", ")))
        .unwrap_or_else(|| {
            let sections: Vec<&str> = KNOWN_KEYS.iter().map(|(s, _)| *s).collect();
            format!(" (sections: {})", sections.join(", "))
        });
    ConfigError::UnknownKey {
        origin: origin.into(),
        key: key.into(),
        hint,
    }
}

/// Turns merged settings into a typed `Config`, one named error per bad key.
struct Validator<'a> {
    origin: &'a str,
    settings: &'a Settings,
}

impl Validator<'_> {
    fn build(&self) -> Result<Config, ConfigError> {
        let secret = self
            .text("bot.secret")
            .ok_or_else(|| ConfigError::Missing {
                origin: self.origin.into(),
                key: "bot.secret",
                why: "it signs reply tokens (set it in [bot] or LEADBOT_BOT_SECRET)",
            })?;
        if secret.len() < 16 {
            return Err(self.invalid("bot.secret", "***", "must be at least 16 characters long"));
        }
        let bot = BotConfig {
            address: self.address("bot.address", "leads@leads.example.test")?,
            secret: Secret::new(secret),
            staff_domains: self
                .list("bot.staff_domains")
                .into_iter()
                .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                .collect(),
            default_locale: self.locale("bot.default_locale")?,
            reviewer_locale: match self.text("bot.reviewer_locale") {
                Some(_) => self.locale("bot.reviewer_locale")?,
                None => self.locale("bot.default_locale")?,
            },
            reviewers: self
                .list("bot.reviewers")
                .iter()
                .map(|r| {
                    EmailAddress::parse(r)
                        .map_err(|e| self.invalid("bot.reviewers", r, &e.to_string()))
                })
                .collect::<Result<_, _>>()?,
            registration_solutions: self.list("bot.registration_solutions"),
            registration_fields: match self.list("bot.registration_fields") {
                listed if listed.is_empty() => registration::DEFAULT_FIELDS
                    .iter()
                    .map(|spec| RegistrationField::parse(spec))
                    .collect(),
                listed => listed
                    .iter()
                    .map(|spec| RegistrationField::parse(spec))
                    .collect(),
            },
            fallback_profile: self.text("bot.fallback_profile"),
            operator_address: self
                .text("bot.operator_address")
                .map(|raw| {
                    EmailAddress::parse(&raw)
                        .map_err(|e| self.invalid("bot.operator_address", &raw, &e.to_string()))
                })
                .transpose()?,
            outbox_dir: self.text("bot.outbox_dir").map(PathBuf::from),
            error_answers_per_hour: self.number("bot.error_answers_per_hour", 3)?,
            require_authentication: self.number("bot.require_authentication", false)?,
            authserv_id: self.text("bot.authserv_id"),
            max_inbound_size: self.number("bot.max_inbound_size", DEFAULT_MAX_INBOUND_SIZE)?,
        };
        if bot.require_authentication && bot.authserv_id.is_none() {
            return Err(ConfigError::Missing {
                origin: self.origin.into(),
                key: "bot.authserv_id",
                why: "require_authentication trusts only the Authentication-Results of this server",
            });
        }
        let schedule = ScheduleConfig {
            expiry: self.duration("schedule.expiry", "14d")?,
            hot_window: self.duration("schedule.hot_window", "72h")?,
            first_reminder: self.duration("schedule.first_reminder", "24h")?,
            final_reminder: self.duration("schedule.final_reminder", "48h")?,
            response_target: self.duration("schedule.response_target", "24h")?,
            digest_time: self.time_of_day("schedule.digest_time", "08:00")?,
            digest_utc_offset: self.utc_offset("schedule.digest_timezone", "+00:00")?,
            tick_interval: self.duration("schedule.tick_interval", "1m")?,
        };
        if schedule.final_reminder >= schedule.expiry {
            return Err(self.invalid(
                "schedule.final_reminder",
                &self.text("schedule.final_reminder").unwrap_or_default(),
                "must be shorter than schedule.expiry (it is counted back from the expiry)",
            ));
        }
        let listen = self.text("http.listen").unwrap_or("127.0.0.1:9898".into());
        Ok(Config {
            source: None,
            database_url: Secret::new(
                self.text("database.url")
                    .unwrap_or("postgres://127.0.0.1/leadbot".into()),
            ),
            bot,
            imap: self.imap()?,
            smtp: self.smtp()?,
            schedule,
            http: HttpConfig {
                listen: listen.parse().map_err(|_| {
                    self.invalid(
                        "http.listen",
                        &listen,
                        "expected host:port, like 127.0.0.1:9898",
                    )
                })?,
            },
        })
    }

    fn imap(&self) -> Result<Option<ImapConfig>, ConfigError> {
        let Some(host) = self.text("imap.host") else {
            return Ok(None);
        };
        let security = self.security("imap.security", "tls")?;
        let default_port = if security == Security::Tls { 993 } else { 143 };
        Ok(Some(ImapConfig {
            host,
            port: self.number("imap.port", default_port)?,
            security,
            username: self.required("imap.username", "the IMAP login of the bot's mailbox")?,
            password: Secret::new(self.text("imap.password").unwrap_or_default()),
            mailbox: self.text("imap.mailbox").unwrap_or("INBOX".into()),
            quarantine_mailbox: self
                .text("imap.quarantine_mailbox")
                .unwrap_or("Quarantine".into()),
            ca_file: self.text("imap.ca_file").map(PathBuf::from),
        }))
    }

    fn smtp(&self) -> Result<Option<SmtpConfig>, ConfigError> {
        let Some(host) = self.text("smtp.host") else {
            return Ok(None);
        };
        let security = self.security("smtp.security", "starttls")?;
        let default_port = match security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        };
        Ok(Some(SmtpConfig {
            host,
            port: self.number("smtp.port", default_port)?,
            security,
            username: self.text("smtp.username"),
            password: Secret::new(self.text("smtp.password").unwrap_or_default()),
            max_attempts: self.number("smtp.max_attempts", 8)?,
            ca_file: self.text("smtp.ca_file").map(PathBuf::from),
            connections: self.number("smtp.connections", DEFAULT_SMTP_CONNECTIONS)?,
        }))
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.settings.get(key) {
            Some(SettingValue::Text(text)) if !text.trim().is_empty() => Some(text.trim().into()),
            Some(SettingValue::List(items)) => Some(items.join(",")),
            _ => None,
        }
    }

    fn required(&self, key: &'static str, why: &'static str) -> Result<String, ConfigError> {
        self.text(key).ok_or_else(|| ConfigError::Missing {
            origin: self.origin.into(),
            key,
            why,
        })
    }

    /// A list from TOML, or a comma-separated string (how environment variables carry lists).
    fn list(&self, key: &str) -> Vec<String> {
        match self.settings.get(key) {
            Some(SettingValue::List(items)) => items.clone(),
            Some(SettingValue::Text(text)) => text
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(|item| item.trim().trim_matches('"').to_string())
                .filter(|item| !item.is_empty())
                .collect(),
            None => Vec::new(),
        }
    }

    fn invalid(&self, key: &str, value: &str, message: &str) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.into(),
            key: key.into(),
            value: value.into(),
            message: message.into(),
        }
    }

    fn address(&self, key: &str, default: &str) -> Result<EmailAddress, ConfigError> {
        let raw = self.text(key).unwrap_or(default.into());
        EmailAddress::parse(&raw).map_err(|e| self.invalid(key, &raw, &e.to_string()))
    }

    fn locale(&self, key: &str) -> Result<Locale, ConfigError> {
        let raw = self.text(key).unwrap_or("en".into());
        Locale::parse(&raw).ok_or_else(|| self.invalid(key, &raw, "expected \"en\" or \"fr\""))
    }

    fn number<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, ConfigError> {
        match self.text(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| self.invalid(key, &raw, "expected a number in range (or true/false)")),
        }
    }

    fn security(&self, key: &str, default: &str) -> Result<Security, ConfigError> {
        let raw = self.text(key).unwrap_or(default.into());
        match raw.to_ascii_lowercase().as_str() {
            "none" => Ok(Security::None),
            "starttls" => Ok(Security::StartTls),
            "tls" => Ok(Security::Tls),
            _ => Err(self.invalid(key, &raw, "expected \"none\", \"starttls\" or \"tls\"")),
        }
    }

    fn duration(&self, key: &str, default: &str) -> Result<TimeDelta, ConfigError> {
        let raw = self.text(key).unwrap_or(default.into());
        parse_duration(&raw).map_err(|message| self.invalid(key, &raw, &message))
    }

    fn time_of_day(&self, key: &str, default: &str) -> Result<chrono::NaiveTime, ConfigError> {
        let raw = self.text(key).unwrap_or(default.into());
        chrono::NaiveTime::parse_from_str(&raw, "%H:%M")
            .map_err(|_| self.invalid(key, &raw, "expected a time of day as HH:MM, like 08:00"))
    }

    fn utc_offset(&self, key: &str, default: &str) -> Result<chrono::FixedOffset, ConfigError> {
        let raw = self.text(key).unwrap_or(default.into());
        let normalized = match raw.to_ascii_uppercase().as_str() {
            "UTC" | "Z" | "GMT" => "+00:00".to_string(),
            other => other.trim_start_matches("UTC").to_string(),
        };
        normalized
            .parse()
            .map_err(|_| self.invalid(key, &raw, "expected UTC or an offset from UTC like +01:00"))
    }
}

/// "14d", "72h", "90m", "30s", "1h30m", "2w": a positive span of time.
pub fn parse_duration(raw: &str) -> Result<TimeDelta, String> {
    let text = raw.trim().to_ascii_lowercase();
    if text.is_empty() {
        return Err("empty duration (expected something like 14d, 72h, 30m)".into());
    }
    let mut total = TimeDelta::zero();
    let mut digits = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        if ch == ' ' {
            continue;
        }
        let amount: i64 = digits
            .parse()
            .map_err(|_| format!("`{ch}` must follow a number (expected like 14d, 72h, 1h30m)"))?;
        digits.clear();
        let part = match ch {
            'w' => TimeDelta::try_weeks(amount),
            'd' => TimeDelta::try_days(amount),
            'h' => TimeDelta::try_hours(amount),
            'm' => TimeDelta::try_minutes(amount),
            's' => TimeDelta::try_seconds(amount),
            _ => return Err(format!("unknown unit `{ch}` (use w, d, h, m or s)")),
        }
        .ok_or("duration too large")?;
        total = total.checked_add(&part).ok_or("duration too large")?;
    }
    if !digits.is_empty() {
        return Err("a number needs a unit (w, d, h, m or s), like 14d".into());
    }
    if total <= TimeDelta::zero() {
        return Err("must be longer than zero".into());
    }
    Ok(total)
}

#[cfg(test)]
mod tests;
