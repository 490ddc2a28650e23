//! The knobs of the account domain. The server builds them from its configuration; tests
//! build them with small values. Defaults follow the security checklist.

use std::time::Duration;

/// The address people use to reach ImportOps. Links in mail and the cross-site request
/// check are built from it, never from a request's Host header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
    secure: bool,
}

impl PublicUrl {
    /// Accepts `http://host[:port]` or `https://host[:port]`, with at most a trailing `/`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let uri: http::Uri = value
            .trim()
            .parse()
            .map_err(|_| format!("{value:?} is not a valid URL"))?;
        let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
        let secure = match scheme.as_deref() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("{value:?} must start with http:// or https://")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{value:?} has no host"))?
            .as_str()
            .to_ascii_lowercase();
        if authority.contains('@') {
            return Err(format!(
                "{value:?} must not contain a user name or password"
            ));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(format!(
                "{value:?} must be the site's root, without a path or query (ImportOps is \
                 served from the root of its host)"
            ));
        }
        let scheme = if secure { "https" } else { "http" };
        Ok(PublicUrl {
            origin: format!("{scheme}://{authority}"),
            secure,
        })
    }

    /// `scheme://host[:port]`, exactly as a browser sends it in the `Origin` header.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Served over https: cookies get `Secure` and the `__Host-` prefix, and HSTS is sent.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// An absolute link to a path on this site.
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.origin, path)
    }
}

/// At most `max` requests per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}

/// How failed sign-ins for one address slow further attempts down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInThrottle {
    /// The wait after the first, second, third… failure; the last value repeats.
    pub delays: Vec<Duration>,
    /// After this many failures in a row the address is locked for `lock_for`.
    pub lock_after: u32,
    pub lock_for: Duration,
}

impl SignInThrottle {
    /// How long to refuse attempts after `failures` consecutive failures.
    pub fn wait_after(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        if failures >= self.lock_after {
            return self.lock_for;
        }
        let index = usize::try_from(failures - 1).unwrap_or(usize::MAX);
        self.delays
            .get(index)
            .or(self.delays.last())
            .copied()
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub public_url: PublicUrl,
    /// A session unused for this long ends.
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however active.
    pub session_absolute_timeout: Duration,
    pub sign_in_throttle: SignInThrottle,
    /// Sign-in attempts per client address.
    pub sign_in_rate: RateLimit,
    /// New accounts per client address.
    pub sign_up_rate: RateLimit,
    /// Profile picture uploads per person.
    pub avatar_upload_rate: RateLimit,
    /// What one uploaded picture may ask of the server before it is decoded.
    pub avatar_limits: super::avatar::pipeline::Limits,
    /// How long making one avatar may take, waiting for a free core included.
    pub avatar_processing_timeout: Duration,
    /// How long after entering the password sensitive actions are allowed without asking
    /// for it again ("sudo mode").
    pub sudo_window: Duration,
    /// Password strength checks per client address (the meter asks as the person types).
    pub password_feedback_rate: RateLimit,
    /// How long a link to confirm a new email address works.
    pub email_change_ttl: Duration,
    /// Messages a person can cause through email changes (requests and resends).
    pub email_change_mail_rate: RateLimit,
    /// Password hashes computed at once; each takes about 19 MiB and one core.
    pub password_hashing_permits: usize,
}

impl Settings {
    pub fn new(public_url: PublicUrl) -> Self {
        let cores = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2);
        Settings {
            public_url,
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_absolute_timeout: Duration::from_secs(12 * 60 * 60),
            sign_in_throttle: SignInThrottle {
                delays: [1, 3, 5, 10].map(Duration::from_secs).to_vec(),
                lock_after: 100,
                lock_for: Duration::from_secs(24 * 60 * 60),
            },
            sign_in_rate: RateLimit {
                max: 30,
                window: Duration::from_secs(60),
            },
            sign_up_rate: RateLimit {
                max: 10,
                window: Duration::from_secs(60 * 60),
            },
            avatar_upload_rate: RateLimit {
                max: 30,
                window: Duration::from_secs(60 * 60),
            },
            avatar_limits: super::avatar::pipeline::Limits::default(),
            avatar_processing_timeout: Duration::from_secs(15),
            sudo_window: Duration::from_secs(10 * 60),
            password_feedback_rate: RateLimit {
                max: 300,
                window: Duration::from_secs(60),
            },
            email_change_ttl: Duration::from_secs(24 * 60 * 60),
            email_change_mail_rate: RateLimit {
                max: 5,
                window: Duration::from_secs(60 * 60),
            },
            password_hashing_permits: cores,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_origins() {
        let url = PublicUrl::parse("https://Account.Example.com/").unwrap();
        assert_eq!(url.origin(), "https://account.example.com");
        assert!(url.is_secure());
        assert_eq!(url.link("/login"), "https://account.example.com/login");

        let local = PublicUrl::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(local.origin(), "http://127.0.0.1:3000");
        assert!(!local.is_secure());

        for bad in [
            "127.0.0.1:3000",
            "ftp://x.example",
            "https://x.example/app",
            "http://u:p@x.io",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn throttle_waits_escalate_then_lock() {
        let throttle =
            Settings::new(PublicUrl::parse("http://x.example").unwrap()).sign_in_throttle;
        let secs = |n| throttle.wait_after(n).as_secs();
        assert_eq!(
            [secs(0), secs(1), secs(2), secs(3), secs(4), secs(50)],
            [0, 1, 3, 5, 10, 10]
        );
        assert_eq!(secs(100), 24 * 60 * 60);
    }
}
