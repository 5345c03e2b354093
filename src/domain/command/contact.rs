//! A customer contact as partners write it: "Jean Roy, +33 6 12 34 56 78, jean@client.test".

use super::messages::Why;
use super::{Language, LeadContact};
use crate::domain::address::{EmailAddress, InvalidAddress};

/// "Name, phone, email" in any order: the part with an `@` is the email, the part made of
/// digits and phone punctuation is the phone, the rest is the name.
pub(super) fn read_contact(written: &str) -> Result<LeadContact, Why> {
    let contact = read_contact_parts(written)?;
    check_contact(&contact).map_err(|gap| gap.why())?;
    Ok(contact)
}

pub(super) fn read_contact_parts(written: &str) -> Result<LeadContact, Why> {
    let mut names = Vec::new();
    let mut contact = LeadContact::default();
    for part in written
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if part.contains('@') {
            let (name, address) = split_named_address(part);
            names.extend(name);
            let email = EmailAddress::parse(address).map_err(|error| invalid_address(&error))?;
            if contact.email.replace(email.to_string()).is_some() {
                return Err(Why::new(
                    format!("`{written}` has two email addresses: one contact at a time"),
                    format!("`{written}` contient deux adresses e-mail : un contact à la fois"),
                ));
            }
        } else if looks_like_phone(part) {
            if contact.phone.replace(part.to_string()).is_some() {
                return Err(Why::new(
                    format!("`{written}` has two phone numbers: one contact at a time"),
                    format!(
                        "`{written}` contient deux numéros de téléphone : un contact à la fois"
                    ),
                ));
            }
        } else if part.chars().filter(char::is_ascii_digit).count() >= 3 {
            return Err(Why::new(
                format!(
                    "`{part}` mixes a name and digits: separate name, phone and email with commas"
                ),
                format!(
                    "`{part}` mêle un nom et des chiffres : séparez nom, téléphone et e-mail par \
                     des virgules"
                ),
            ));
        } else {
            names.push(part);
        }
    }
    contact.name = names.join(", ");
    Ok(contact)
}

/// An address that cannot be one, said in both languages.
pub(super) fn invalid_address(error: &InvalidAddress) -> Why {
    Why::new(
        error.to_string(),
        format!(
            "`{}` n'est pas une adresse e-mail (attendu : nom@domaine)",
            error.0
        ),
    )
}

/// "Jean Roy <jean@client.test>" → ("Jean Roy", "jean@client.test").
pub(super) fn split_named_address(part: &str) -> (Option<&str>, &str) {
    let bracketed = part
        .split_once('<')
        .and_then(|(name, rest)| rest.strip_suffix('>').map(|address| (name.trim(), address)));
    match bracketed {
        Some((name, address)) if !name.is_empty() => (Some(name), address),
        Some((_, address)) => (None, address),
        None => (None, part),
    }
}

pub(super) fn looks_like_phone(part: &str) -> bool {
    part.chars().filter(char::is_ascii_digit).count() >= 6
        && part
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || "+.-()/".contains(c))
}

/// What a contact lacks to be worth adding.
#[derive(Debug, thiserror::Error)]
pub(super) enum ContactGap {
    #[error("a contact needs a name, e.g. Jean Roy, +33 6 12 34 56 78, jean@client.test")]
    Name,
    #[error("a contact needs a phone number or an email address, e.g. Jean Roy, +33 6 12 34 56 78")]
    Reach,
}

impl ContactGap {
    pub(super) fn why(&self) -> Why {
        Why::new(
            self.to_string(),
            match self {
                Self::Name => {
                    "un contact a besoin d'un nom, par exemple Jean Roy, +33 6 12 34 56 78, \
                     jean@client.test"
                }
                Self::Reach => {
                    "un contact a besoin d'un numéro de téléphone ou d'une adresse e-mail, par \
                     exemple Jean Roy, +33 6 12 34 56 78"
                }
            },
        )
    }

    pub(super) fn wanted(&self) -> &'static str {
        match self {
            Self::Name => "a name (Name: Jean Roy)",
            Self::Reach => "a phone number or an email address (Phone: +33 6 12 34 56 78)",
        }
    }
}

/// A contact needs a name and a way to reach them: "Contact the customer tomorrow" is not
/// a contact named "the customer tomorrow".
pub(super) fn check_contact(contact: &LeadContact) -> Result<(), ContactGap> {
    if contact.name.trim().is_empty() {
        Err(ContactGap::Name)
    } else if contact.phone.is_none() && contact.email.is_none() {
        Err(ContactGap::Reach)
    } else {
        Ok(())
    }
}

pub(super) fn describe_contact(contact: &LeadContact, language: Language) -> String {
    let (phone, email) = match language {
        Language::En => ("phone", "email"),
        Language::Fr => ("téléphone", "e-mail"),
    };
    let mut parts = vec![contact.name.clone()];
    parts.extend(contact.phone.as_ref().map(|p| format!("{phone} {p}")));
    parts.extend(contact.email.as_ref().map(|e| format!("{email} {e}")));
    parts.join(" · ")
}
