//! How messages leave: an SMTP relay named by one URL, or, when none is configured, `.eml`
//! files in a folder so that someone trying ImportOps locally can open the links.

use super::PRODUCT_NAME;
use crate::backend::{clock::Timestamp, entities::outbox};
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::response::Category,
};
use std::{
    path::{Path, PathBuf},
    time::{Duration, UNIX_EPOCH},
};
use zeroize::Zeroizing;

/// The sender used when none is configured.
pub const DEFAULT_SENDER: &str = "ImportOps <no-reply@localhost>";

/// Where messages go.
#[derive(Clone, Debug)]
pub enum MailTransport {
    Smtp(SmtpUrl),
    /// Each message becomes `<folder>/<random id>.eml`.
    Folder(PathBuf),
}

impl std::fmt::Display for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransport::Smtp(url) => write!(f, "{url}"),
            MailTransport::Folder(folder) => write!(f, ".eml files in {}", folder.display()),
        }
    }
}

/// How the connection to the relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: plain connection upgraded with STARTTLS, which must succeed (port 587).
    StartTls,
    /// `smtps://`: TLS from the first byte (port 465).
    Tls,
    /// `smtp://…?tls=none`: no encryption at all (port 25); for a local test server.
    None,
}

/// The relay's address, with its credentials. It prints (`Debug` and `Display`) without the
/// user name and password, so it can appear in logs and error messages.
#[derive(Clone)]
pub struct SmtpUrl {
    /// The URL in the form `lettre` reads, credentials included.
    url: Zeroizing<String>,
    security: SmtpSecurity,
    host: String,
    port: u16,
}

impl SmtpUrl {
    /// Accepts:
    ///
    /// - `smtp://[user:password@]host[:port]`: STARTTLS, required; port 587 by default.
    ///   `?tls=required` says the same explicitly.
    /// - `smtps://[user:password@]host[:port]`: implicit TLS; port 465 by default.
    /// - `smtp://host[:port]?tls=none`: unencrypted, port 25 by default; refused with a
    ///   user name or password, which would cross the network in the clear.
    ///
    /// User name and password are percent-encoded (`@` as `%40`). A path (`/name`) sets the
    /// name sent with `EHLO`. Error messages never repeat the value: it may hold a password.
    pub fn parse(value: &str) -> Result<Self, String> {
        let uri: http::Uri = value.trim().parse().map_err(|_| {
            "it is not a URL like smtp://user:password@host:587 or smtps://host:465".to_owned()
        })?;
        let scheme = uri
            .scheme_str()
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let authority = uri.authority().ok_or_else(|| "it has no host".to_owned())?;
        let host = authority.host().to_owned();
        if host.is_empty() {
            return Err("it has no host".into());
        }
        let has_credentials = authority.as_str().contains('@');

        let mut tls = None;
        for pair in uri.query().unwrap_or_default().split('&') {
            match pair.split_once('=') {
                Some(("tls", mode)) => tls = Some(mode.to_ascii_lowercase()),
                None if pair.is_empty() => {}
                _ => {
                    let name = pair.split('=').next().unwrap_or_default();
                    return Err(format!(
                        "the option {name:?} is not understood (only tls= is)"
                    ));
                }
            }
        }

        let security = match (scheme.as_str(), tls.as_deref()) {
            ("smtp", None | Some("required")) => SmtpSecurity::StartTls,
            ("smtp", Some("none")) => SmtpSecurity::None,
            ("smtps", None | Some("required")) => SmtpSecurity::Tls,
            ("smtp" | "smtps", Some(other)) => {
                return Err(format!(
                    "tls={other} is not understood: leave it out (encryption is required) or, \
                     for a local test server only, use tls=none"
                ));
            }
            _ => return Err("it must start with smtp:// or smtps://".into()),
        };
        if security == SmtpSecurity::None && has_credentials {
            return Err("a user name or password needs an encrypted connection: \
                        remove ?tls=none"
                .into());
        }

        let path = match uri.path() {
            "" | "/" => "",
            path => path,
        };
        let authority = authority.as_str();
        let (url, default_port) = match security {
            SmtpSecurity::StartTls => (
                format!("smtp://{authority}{path}?tls=required"),
                lettre::transport::smtp::SUBMISSION_PORT,
            ),
            SmtpSecurity::Tls => (
                format!("smtps://{authority}{path}"),
                lettre::transport::smtp::SUBMISSIONS_PORT,
            ),
            SmtpSecurity::None => (
                format!("smtp://{authority}{path}"),
                lettre::transport::smtp::SMTP_PORT,
            ),
        };
        let url = Zeroizing::new(url);
        // Let lettre read it now, so that anything it would refuse stops the start-up.
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| format!("the mail library refuses it ({e})"))?;
        Ok(SmtpUrl {
            url,
            security,
            port: uri.port_u16().unwrap_or(default_port),
            host,
        })
    }

    pub fn security(&self) -> SmtpSecurity {
        self.security
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl std::fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (scheme, note) = match self.security {
            SmtpSecurity::StartTls => ("smtp", "STARTTLS"),
            SmtpSecurity::Tls => ("smtps", "TLS"),
            SmtpSecurity::None => ("smtp", "unencrypted"),
        };
        write!(f, "{scheme}://{}:{} ({note})", self.host, self.port)
    }
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpUrl({self})")
    }
}

/// Reads a sender such as `ImportOps <no-reply@example.com>` or `no-reply@example.com`.
/// A bare address gets the product name as its display name, so people see who wrote.
pub fn parse_sender(value: &str) -> Result<Mailbox, String> {
    let value = value.trim();
    let refuse = || {
        format!(
            "{value:?} is not one mail address such as no-reply@example.com or \
             \"ImportOps <no-reply@example.com>\""
        )
    };
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(refuse());
    }
    let mailbox: Mailbox = value.parse().map_err(|_| refuse())?;
    // lettre reads the first mailbox and ignores whatever follows it, so check that the
    // address is where the value ends.
    let address = mailbox.email.to_string();
    if value != address && !value.ends_with(&format!("<{address}>")) {
        return Err(refuse());
    }
    let name = mailbox
        .name
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| PRODUCT_NAME.to_owned());
    Ok(Mailbox::new(Some(name), mailbox.email))
}

/// Whether `value` is an address the relay can be given as a recipient.
pub(super) fn valid_recipient(value: &str) -> bool {
    !value.chars().any(char::is_control)
        && value.parse::<Mailbox>().is_ok_and(|mailbox| {
            let address = mailbox.email.to_string();
            value == address || value.ends_with(&format!("<{address}>"))
        })
}

/// The message as it goes out: multipart/alternative with the text part first (clients show
/// the last part they understand), from the configured sender.
///
/// The `Message-ID` is derived from the outbox row, so if a message ever goes out twice
/// (its worker died between the relay's "250 OK" and recording it), clients can tell
/// that the two copies are the same message.
pub(super) fn compose(
    message: &outbox::Model,
    from: &Mailbox,
    now: Timestamp,
) -> Result<Message, String> {
    let to: Mailbox = message
        .recipient
        .parse()
        .map_err(|_| "the recipient is not a valid address".to_owned())?;
    let sent_at =
        UNIX_EPOCH + Duration::from_millis(u64::try_from(now.as_millis()).unwrap_or_default());
    let message_id = format!(
        "<outbox.{}.{}@{}>",
        message.id,
        message.created_at.as_millis(),
        from.email.domain()
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .date(sent_at)
        .message_id(Some(message_id))
        .multipart(MultiPart::alternative_plain_html(
            message.text_body.clone(),
            message.html_body.clone(),
        ))
        .map_err(|e| format!("the message cannot be built: {e}"))
}

/// Why a message did not leave.
pub(super) struct NotSent {
    /// Trying again cannot help: the relay refused this message for good.
    pub permanent: bool,
    /// What went wrong, with addresses removed (see [`redact`]).
    pub cause: String,
}

impl NotSent {
    /// Keeps lettre's reading of the relay's reply: a 5xx reply is a refusal for good (an
    /// unknown mailbox, a message the relay will never take), anything else may pass later.
    /// Authentication replies (53x) are the exception: they come from our configuration, not
    /// from the message, and once an operator fixes the credentials the queue must still go.
    fn smtp(error: &lettre::transport::smtp::Error) -> Self {
        let authentication = error
            .status()
            .is_some_and(|code| code.category == Category::Unspecified3);
        NotSent {
            permanent: error.is_permanent() && !authentication,
            cause: redact(&error.to_string()),
        }
    }

    fn file(error: &lettre::transport::file::Error) -> Self {
        NotSent {
            permanent: false,
            cause: redact(&error.to_string()),
        }
    }
}

/// What happened to a message that left.
pub(super) enum Delivered {
    /// The relay accepted it.
    Relayed,
    /// It was written to this file.
    Written(PathBuf),
}

/// An open transport.
pub(super) enum Outgoing {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder {
        folder: PathBuf,
        files: AsyncFileTransport<Tokio1Executor>,
    },
}

impl Outgoing {
    /// Prepares the transport. For SMTP this only configures the connection pool (the relay
    /// is contacted when there is something to send, so a relay that is down at start-up
    /// delays mail but does not stop the server). The folder is created, readable by its
    /// owner only since messages carry sign-in links.
    pub(super) fn open(transport: &MailTransport, timeout: Duration) -> Result<Self, String> {
        match transport {
            MailTransport::Smtp(url) => {
                let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url.url)
                    .map_err(|e| format!("the SMTP URL {url} cannot be used: {e}"))?
                    .timeout(Some(timeout))
                    .build();
                Ok(Outgoing::Smtp(smtp))
            }
            MailTransport::Folder(folder) => {
                create_private_folder(folder).map_err(|e| {
                    format!("cannot create the mail folder {}: {e}", folder.display())
                })?;
                Ok(Outgoing::Folder {
                    folder: folder.clone(),
                    files: AsyncFileTransport::new(folder),
                })
            }
        }
    }

    pub(super) async fn send(&self, message: Message) -> Result<Delivered, NotSent> {
        match self {
            Outgoing::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| Delivered::Relayed)
                .map_err(|e| NotSent::smtp(&e)),
            Outgoing::Folder { folder, files } => files
                .send(message)
                .await
                .map(|id| Delivered::Written(folder.join(format!("{id}.eml"))))
                .map_err(|e| NotSent::file(&e)),
        }
    }

    /// Closes pooled SMTP connections politely.
    pub(super) async fn shutdown(&self) {
        if let Outgoing::Smtp(smtp) = self {
            smtp.shutdown().await;
        }
    }
}

fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(folder)
}

/// Replaces anything that looks like a mail address with `[address]`, and keeps the text
/// short: relay errors often quote the recipient, and this text is logged and stored.
pub(super) fn redact(text: &str) -> String {
    const LIMIT: usize = 500;
    let mut out = String::with_capacity(text.len().min(LIMIT));
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(if word.contains('@') {
            "[address]"
        } else {
            word
        });
    }
    if out.len() > LIMIT {
        let mut end = LIMIT;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_choose_encryption_and_default_ports() {
        let starttls = SmtpUrl::parse("smtp://user:secret@mail.example.com").unwrap();
        assert_eq!(starttls.security(), SmtpSecurity::StartTls);
        assert_eq!(starttls.port(), 587);
        assert_eq!(starttls.host(), "mail.example.com");
        assert_eq!(
            *starttls.url,
            "smtp://user:secret@mail.example.com?tls=required"
        );

        let tls = SmtpUrl::parse("SMTPS://user:secret@mail.example.com").unwrap();
        assert_eq!((tls.security(), tls.port()), (SmtpSecurity::Tls, 465));

        let plain = SmtpUrl::parse("smtp://127.0.0.1:1025?tls=none").unwrap();
        assert_eq!((plain.security(), plain.port()), (SmtpSecurity::None, 1025));
        assert_eq!(*plain.url, "smtp://127.0.0.1:1025");

        let explicit = SmtpUrl::parse("smtp://relay.example.com:2525?tls=required").unwrap();
        assert_eq!(
            (explicit.security(), explicit.port()),
            (SmtpSecurity::StartTls, 2525)
        );
    }

    #[test]
    fn smtp_urls_never_print_their_credentials() {
        let url = SmtpUrl::parse("smtp://mailer:hunter2hunter2@mail.example.com:587").unwrap();
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("mailer"), "{shown}");
            assert!(shown.contains("mail.example.com:587"), "{shown}");
        }
        let transport = MailTransport::Smtp(url);
        assert!(!format!("{transport:?} {transport}").contains("hunter2"));
    }

    #[test]
    fn bad_smtp_urls_are_refused_without_repeating_them() {
        for bad in [
            "mail.example.com:587",
            "http://mail.example.com",
            "smtp://u:hunter2@mail.example.com?tls=none",
            "smtp://u:hunter2@mail.example.com?tls=maybe",
            "smtp://u:hunter2@mail.example.com?auth=plain",
            "smtp://",
        ] {
            let error = SmtpUrl::parse(bad).expect_err(bad);
            assert!(!error.contains("hunter2"), "{bad}: {error}");
        }
    }

    #[test]
    fn senders_are_single_mailboxes_with_a_name() {
        let named = parse_sender("Northwind <no-reply@northwind.example>").unwrap();
        assert_eq!(named.name.as_deref(), Some("Northwind"));
        assert_eq!(named.email.to_string(), "no-reply@northwind.example");

        let bare = parse_sender(" no-reply@northwind.example ").unwrap();
        assert_eq!(bare.name.as_deref(), Some(PRODUCT_NAME));

        let default = parse_sender(DEFAULT_SENDER).unwrap();
        assert_eq!(default.to_string(), "ImportOps <no-reply@localhost>");

        for bad in [
            "",
            "no-reply",
            "a@b.example, c@d.example",
            "Name <a@b.example> trailing",
            "a@b.example\r\nBcc: x@y.example",
        ] {
            assert!(parse_sender(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn recipients_are_checked_like_senders() {
        assert!(valid_recipient("ana@example.com"));
        assert!(valid_recipient("Ana Lopez <ana@example.com>"));
        assert!(!valid_recipient("ana@example.com\r\nBcc: x@y.example"));
        assert!(!valid_recipient("ana@example.com, bob@example.com"));
        assert!(!valid_recipient("not an address"));
    }

    #[test]
    fn errors_lose_addresses_and_length() {
        assert_eq!(
            redact("550 5.1.1 <ana@example.com>: Recipient address rejected"),
            "550 5.1.1 [address] Recipient address rejected"
        );
        let long = redact(&"é".repeat(1000));
        assert!(long.len() <= 504, "{}", long.len());
        assert!(long.ends_with('…'));
    }
}
