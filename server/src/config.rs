//! Configuration: read once at start-up from flags, with environment variables as
//! fallbacks, and checked before anything starts. Every setting is listed in the README.

use app::backend::{
    mail::{self, MailSettings, MailTransport, Mailbox, SmtpUrl},
    settings::{PublicUrl, RateLimit, Settings},
};
use clap::{Args, Parser, Subcommand, ValueEnum, builder::TypedValueParser, error::ErrorKind};
use std::{net::IpAddr, net::SocketAddr, path::PathBuf, time::Duration};

#[derive(Debug, Parser)]
#[command(
    name = "importops",
    version,
    about = "ImportOps Account: accounts, sign-in and team security"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve HTTP (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://path/to/file.db` (the file and its folder are created when
    /// missing) or `postgres://user:password@host:5432/database`. Defaults to
    /// `sqlite://<data dir>/importops.db`.
    #[arg(
        long,
        env = "IMPORTOPS_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Folder for local state: the embedded database and the generated secret key.
    #[arg(
        long,
        env = "IMPORTOPS_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Address and port to listen on.
    #[arg(
        long,
        env = "IMPORTOPS_LISTEN",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: SocketAddr,

    /// The URL people use to reach ImportOps. Links in mail and the cross-site request
    /// check use it; with https, cookies are marked Secure and HSTS is sent.
    #[arg(
        long,
        env = "IMPORTOPS_PUBLIC_URL",
        default_value = "http://127.0.0.1:3000",
        value_parser = PublicUrl::parse,
        global = true
    )]
    pub public_url: PublicUrl,

    /// Key for encrypting secrets at rest: 32 bytes as 64 hex characters. When unset, a key
    /// is generated once into `<data dir>/secret.key` (readable by its owner only).
    #[arg(
        long,
        env = "IMPORTOPS_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    pub secret_key: Option<String>,

    /// Which log lines to print: a level (`info`, `debug`) or a filter such as
    /// `info,server=debug`.
    #[arg(long, env = "IMPORTOPS_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log format.
    #[arg(
        long,
        env = "IMPORTOPS_LOG_FORMAT",
        value_enum,
        default_value = "human",
        global = true
    )]
    pub log_format: LogFormat,

    /// Folder with the built browser assets (`pkg/`), as written by `cargo leptos build`.
    #[arg(
        long,
        env = "IMPORTOPS_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: PathBuf,

    /// Reverse proxies whose `X-Forwarded-For` header is believed, comma-separated. Without
    /// it the client address is the socket's peer.
    #[arg(
        long,
        env = "IMPORTOPS_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// A session unused for this long ends (for example `30m`).
    #[arg(long, env = "IMPORTOPS_SESSION_IDLE_TIMEOUT", default_value = "30m", value_parser = parse_duration, global = true)]
    pub session_idle_timeout: Duration,

    /// A session ends this long after sign-in however active it is (for example `12h`).
    #[arg(long, env = "IMPORTOPS_SESSION_LIFETIME", default_value = "12h", value_parser = parse_duration, global = true)]
    pub session_lifetime: Duration,

    /// Sign-in attempts allowed per client address, as `count/period` (for example `30/1m`).
    #[arg(long, env = "IMPORTOPS_SIGN_IN_RATE_LIMIT", default_value = "30/1m", value_parser = parse_rate, global = true)]
    pub sign_in_rate_limit: RateLimit,

    /// New accounts allowed per client address, as `count/period`.
    #[arg(long, env = "IMPORTOPS_SIGN_UP_RATE_LIMIT", default_value = "10/1h", value_parser = parse_rate, global = true)]
    pub sign_up_rate_limit: RateLimit,

    /// How long after entering the password sensitive actions (signing out other sessions,
    /// two-factor changes) go ahead without asking for it again.
    #[arg(long, env = "IMPORTOPS_SUDO_WINDOW", default_value = "10m", value_parser = parse_duration, global = true)]
    pub sudo_window: Duration,

    /// How long the link that confirms a new email address works (for example `24h`).
    #[arg(long, env = "IMPORTOPS_EMAIL_CHANGE_TTL", default_value = "24h", value_parser = parse_duration, global = true)]
    pub email_change_ttl: Duration,

    /// SMTP server for outgoing mail: `smtp://user:password@host:587` (STARTTLS, required),
    /// `smtps://user:password@host:465` (TLS), or `smtp://host:1025?tls=none` (unencrypted,
    /// no password; for a local test server). Without it each message is written as an
    /// `.eml` file in `<data dir>/outbox/`. It holds a password: prefer the variable to
    /// the flag, which other users of the machine can see.
    #[arg(long, env = "IMPORTOPS_SMTP_URL", hide_env_values = true, value_parser = SmtpUrlParser, global = true)]
    pub smtp_url: Option<SmtpUrl>,

    /// Sender of every message, `Name <address>` or an address (then named ImportOps).
    #[arg(long, env = "IMPORTOPS_MAIL_FROM", default_value = mail::DEFAULT_SENDER, value_parser = parse_mail_from, global = true)]
    pub mail_from: Mailbox,
}

impl Config {
    /// The account domain's settings.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::new(self.public_url.clone());
        settings.session_idle_timeout = self.session_idle_timeout;
        settings.session_absolute_timeout = self.session_lifetime;
        settings.sign_in_rate = self.sign_in_rate_limit;
        settings.sign_up_rate = self.sign_up_rate_limit;
        settings.email_change_ttl = self.email_change_ttl;
        settings.sudo_window = self.sudo_window;
        settings
    }

    /// The mail worker's settings.
    pub fn mail_settings(&self) -> MailSettings {
        let transport = match &self.smtp_url {
            Some(url) => MailTransport::Smtp(url.clone()),
            None => MailSettings::folder_in(&self.data_dir),
        };
        MailSettings::new(transport, self.mail_from.clone())
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("importops.db").display()))
    }
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(value)
        .map_err(|e| format!("{value:?} is not a duration like 30m or 12h: {e}"))?;
    if duration.is_zero() {
        return Err("the duration must be longer than zero".into());
    }
    Ok(duration)
}

fn parse_mail_from(value: &str) -> Result<Mailbox, String> {
    mail::parse_sender(value)
}

/// Reads `--smtp-url` with an error that names the problem but not the value, which may
/// hold a password (clap's own errors quote the value).
#[derive(Clone)]
struct SmtpUrlParser;

impl TypedValueParser for SmtpUrlParser {
    type Value = SmtpUrl;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<SmtpUrl, clap::Error> {
        let refuse = |reason: &str| {
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("the SMTP URL (--smtp-url, IMPORTOPS_SMTP_URL) is not usable: {reason}\n"),
            )
            .with_cmd(cmd)
        };
        let value = value
            .to_str()
            .ok_or_else(|| refuse("it is not valid UTF-8"))?;
        SmtpUrl::parse(value).map_err(|reason| refuse(&reason))
    }
}

fn parse_rate(value: &str) -> Result<RateLimit, String> {
    let (count, period) = value
        .split_once('/')
        .ok_or_else(|| format!("{value:?} is not a rate like 30/1m"))?;
    let max = count
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|max| *max > 0)
        .ok_or_else(|| format!("{count:?} is not a positive whole number"))?;
    Ok(RateLimit {
        max,
        window: parse_duration(period.trim())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("importops").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_the_readme() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.command, None);
        assert_eq!(cli.config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(cli.config.public_url.origin(), "http://127.0.0.1:3000");
        assert_eq!(cli.config.database_url(), "sqlite://./data/importops.db");
        assert_eq!(cli.config.log_format, LogFormat::Human);
        let settings = cli.config.settings();
        assert_eq!(settings.session_idle_timeout, Duration::from_secs(30 * 60));
        assert_eq!(
            settings.session_absolute_timeout,
            Duration::from_secs(12 * 3600)
        );
        assert_eq!(
            settings.sign_in_rate,
            RateLimit {
                max: 30,
                window: Duration::from_secs(60)
            }
        );
        assert_eq!(
            settings.sign_up_rate,
            RateLimit {
                max: 10,
                window: Duration::from_secs(3600)
            }
        );
        assert_eq!(settings.email_change_ttl, Duration::from_secs(24 * 3600));
        assert_eq!(settings.sudo_window, Duration::from_secs(600));
    }

    #[test]
    fn rates_and_durations_parse() {
        let cli = parse(&[
            "--sign-in-rate-limit",
            "500/10s",
            "--session-idle-timeout",
            "5m",
        ])
        .unwrap();
        assert_eq!(
            cli.config.sign_in_rate_limit,
            RateLimit {
                max: 500,
                window: Duration::from_secs(10)
            }
        );
        assert_eq!(cli.config.session_idle_timeout, Duration::from_secs(300));
        for bad in ["30", "0/1m", "x/1m", "30/soon", "30/0s"] {
            assert!(parse(&["--sign-in-rate-limit", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let error = parse(&["--public-url", "example.com"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("must start with http:// or https://"),
            "{error}"
        );
        assert!(parse(&["--listen", "nowhere"]).is_err());
        assert!(parse(&["--log-format", "xml"]).is_err());
        assert!(parse(&["--trusted-proxies", "10.0.0.1,not-an-ip"]).is_err());
        assert!(parse(&["--session-lifetime", "forever"]).is_err());
    }

    #[test]
    fn mail_goes_to_files_in_the_data_dir_until_smtp_is_configured() {
        let cli = parse(&["--data-dir", "/srv/importops"]).unwrap();
        let mail = cli.config.mail_settings();
        assert!(
            matches!(&mail.transport, MailTransport::Folder(folder)
                if folder == std::path::Path::new("/srv/importops/outbox")),
            "{:?}",
            mail.transport
        );
        assert_eq!(mail.from.to_string(), "ImportOps <no-reply@localhost>");

        let cli = parse(&[
            "--smtp-url",
            "smtps://mailer:s3cret-pw@mail.example.com",
            "--mail-from",
            "no-reply@example.com",
        ])
        .unwrap();
        let mail = cli.config.mail_settings();
        let MailTransport::Smtp(url) = &mail.transport else {
            panic!("SMTP expected, got {:?}", mail.transport);
        };
        assert_eq!((url.host(), url.port()), ("mail.example.com", 465));
        assert_eq!(mail.from.to_string(), "ImportOps <no-reply@example.com>");
        assert!(!format!("{cli:?}").contains("s3cret-pw"));
    }

    #[test]
    fn bad_mail_settings_are_refused_without_showing_the_password() {
        let error = parse(&[
            "--smtp-url",
            "smtp://mailer:s3cret-pw@mail.example.com?tls=none",
        ])
        .unwrap_err()
        .to_string();
        assert!(error.contains("needs an encrypted connection"), "{error}");
        assert!(!error.contains("s3cret-pw"), "{error}");
        let error = parse(&["--smtp-url", "imap://mailer:s3cret-pw@mail.example.com"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("smtp:// or smtps://"), "{error}");
        assert!(!error.contains("s3cret-pw"), "{error}");

        let error = parse(&["--mail-from", "ImportOps no-reply"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not one mail address"), "{error}");
    }

    #[test]
    fn help_does_not_show_secret_values() {
        use clap::CommandFactory;
        let command = Cli::command();
        for id in ["smtp_url", "secret_key", "database_url"] {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_id() == id)
                .expect(id);
            assert!(arg.is_hide_env_values_set(), "{id}");
        }
    }

    #[test]
    fn subcommands_take_the_same_settings() {
        let cli = parse(&["migrate", "--database-url", "sqlite://x.db"]).unwrap();
        assert_eq!(cli.command, Some(Command::Migrate));
        assert_eq!(cli.config.database_url(), "sqlite://x.db");
    }
}
