//! Keeping secrets written in the wrong place out of messages.

use std::borrow::Cow;

/// `url` with the password of a `scheme://user:password@host` part shown as
/// `***`, for every message, log line and status that shows a url.
pub fn redact_url(url: &str) -> Cow<'_, str> {
    if let Some(parts) = split_user_info(url)
        && let Some((user, _password)) = parts.user_info.split_once(':')
    {
        let UrlParts {
            scheme, host, tail, ..
        } = parts;
        return Cow::Owned(format!("{scheme}://{user}:***@{host}{tail}"));
    }
    Cow::Borrowed(url)
}

/// The `user[:password]` part of `scheme://user[:password]@host...`, if any.
pub fn url_user_info(url: &str) -> Option<&str> {
    split_user_info(url).map(|parts| parts.user_info)
}

struct UrlParts<'a> {
    scheme: &'a str,
    user_info: &'a str,
    host: &'a str,
    /// Path, query and fragment.
    tail: &'a str,
}

fn split_user_info(url: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (user_info, host) = rest[..authority_end].rsplit_once('@')?;
    Some(UrlParts {
        scheme,
        user_info,
        host,
        tail: &rest[authority_end..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_password_and_keeps_the_rest() {
        assert_eq!(
            redact_url("mqtt://user:S3cret@host:1883"),
            "mqtt://user:***@host:1883"
        );
        assert_eq!(
            redact_url("mqtt://user:S3cret@host"),
            "mqtt://user:***@host"
        );
        assert_eq!(
            redact_url("mqtts://a:p@ss:w@rd@[::1]/x"),
            "mqtts://a:***@[::1]/x"
        );
    }

    #[test]
    fn leaves_urls_without_a_password_alone() {
        for url in [
            "mqtt://host:1883",
            "mqtt://user@host",
            "tcp://10.0.0.5:502",
            "x",
        ] {
            assert_eq!(redact_url(url), url);
        }
        assert_eq!(url_user_info("mqtt://user@host"), Some("user"));
    }
}
