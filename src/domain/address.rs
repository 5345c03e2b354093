//! An email address that has been checked once, at the edge, and is lower-cased so that
//! comparisons (is this sender a contact?) are plain string equality.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an email address (expected local@domain)")]
pub struct InvalidAddress(pub String);

impl EmailAddress {
    /// Accepts `local@domain` with a dotted domain; rejects spaces, angle brackets and
    /// empty parts. Deliberately simple: the mail server has the final word.
    pub fn parse(raw: &str) -> Result<Self, InvalidAddress> {
        let candidate = raw.trim();
        let invalid = || InvalidAddress(raw.to_string());
        let (local, domain) = candidate.rsplit_once('@').ok_or_else(invalid)?;
        let well_formed = !local.is_empty()
            && !domain.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !candidate
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"".contains(c))
            && !local.contains('@');
        if well_formed {
            Ok(Self(candidate.to_lowercase()))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_lowercases_ordinary_addresses() {
        let address = EmailAddress::parse(" Alice.Martin@Contoso.TEST ").unwrap();
        assert_eq!(address.as_str(), "alice.martin@contoso.test");
        assert_eq!(address.local_part(), "alice.martin");
        assert_eq!(address.domain(), "contoso.test");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "alice",
            "alice@",
            "@contoso.test",
            "alice@localhost",
            "a b@contoso.test",
            "<alice@contoso.test>",
            "alice@@contoso.test",
            "alice@contoso.test.",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
