//! Reply tokens: a short, signed name for "this lead, this contact".
//!
//! A token such as `l1042c7-mfrggzdfmztwq2lk` rides in the Reply-To plus-address
//! (`leads+TOKEN@domain`) and in the notification's own Message-ID, so a reply finds its
//! lead whichever address the contact's client answers. The signature (HMAC-SHA256 with the
//! configured secret, truncated to 10 bytes) proves leadbot wrote it; the rest is readable.
//!
//! Everything is lower case because some mail servers lower-case the local part; `verify`
//! accepts any case for the same reason.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::LeadId;

/// Bytes of the HMAC kept: 80 bits is plenty against forgery by guessing over mail.
const SIGNATURE_BYTES: usize = 10;

/// What a verified token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyToken {
    pub lead: LeadId,
    pub contact_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("`{0}` is not a reply token (expected l<lead>c<contact>-<signature>)")]
    Malformed(String),
    #[error("reply token `{0}` has a signature leadbot did not write")]
    BadSignature(String),
}

/// The token for `lead` addressed to the contact `contact_id`.
pub fn sign(secret: &str, lead: LeadId, contact_id: i64) -> String {
    let claim = claim(lead, contact_id);
    let tag = mac(secret, &claim).finalize().into_bytes();
    let signature = BASE32_NOPAD
        .encode(&tag[..SIGNATURE_BYTES])
        .to_ascii_lowercase();
    format!("{claim}-{signature}")
}

/// Checks a token's signature in constant time and returns what it names.
pub fn verify(secret: &str, token: &str) -> Result<ReplyToken, TokenError> {
    let malformed = || TokenError::Malformed(token.to_string());
    let lowered = token.trim().to_ascii_lowercase();
    let (claim, signature) = lowered.split_once('-').ok_or_else(malformed)?;
    let (lead, contact_id) = parse_claim(claim).ok_or_else(malformed)?;
    let signature = BASE32_NOPAD
        .decode(signature.to_ascii_uppercase().as_bytes())
        .map_err(|_| malformed())?;
    if signature.len() != SIGNATURE_BYTES {
        return Err(malformed());
    }
    mac(secret, claim)
        .verify_truncated_left(&signature)
        .map_err(|_| TokenError::BadSignature(token.to_string()))?;
    Ok(ReplyToken { lead, contact_id })
}

/// The signed part, `l1042c7`: compact and free of characters mail servers rewrite.
fn claim(lead: LeadId, contact_id: i64) -> String {
    format!("l{}c{contact_id}", lead.0)
}

fn parse_claim(claim: &str) -> Option<(LeadId, i64)> {
    let (lead, contact) = claim.strip_prefix('l')?.split_once('c')?;
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(lead) || !digits_only(contact) {
        return None;
    }
    Some((LeadId(lead.parse().ok()?), contact.parse().ok()?))
}

fn mac(secret: &str, claim: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(claim.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret-for-reply-tokens";

    #[test]
    fn a_signed_token_verifies_to_its_lead_and_contact() {
        let token = sign(SECRET, LeadId(1042), 7);
        assert!(token.starts_with("l1042c7-"), "{token}");
        assert_eq!(token, token.to_ascii_lowercase());
        assert_eq!(
            verify(SECRET, &token),
            Ok(ReplyToken {
                lead: LeadId(1042),
                contact_id: 7
            })
        );
    }

    #[test]
    fn a_server_that_upper_cases_the_address_does_not_break_it() {
        let token = sign(SECRET, LeadId(1042), 7).to_ascii_uppercase();
        assert_eq!(verify(SECRET, &token).map(|t| t.lead), Ok(LeadId(1042)));
    }

    #[test]
    fn changing_the_lead_or_the_contact_breaks_the_signature() {
        let token = sign(SECRET, LeadId(1042), 7);
        let signature = token.split_once('-').unwrap().1;
        for forged in [
            format!("l1043c7-{signature}"),
            format!("l1042c8-{signature}"),
        ] {
            assert_eq!(
                verify(SECRET, &forged),
                Err(TokenError::BadSignature(forged.clone()))
            );
        }
    }

    #[test]
    fn a_tampered_signature_is_rejected() {
        let token = sign(SECRET, LeadId(1042), 7);
        let last = token.chars().last().unwrap();
        let swapped = if last == 'a' { 'b' } else { 'a' };
        let tampered = format!("{}{swapped}", &token[..token.len() - 1]);
        assert!(verify(SECRET, &tampered).is_err());
    }

    #[test]
    fn another_secret_does_not_verify() {
        let token = sign(SECRET, LeadId(1042), 7);
        assert_eq!(
            verify("another-secret-entirely", &token),
            Err(TokenError::BadSignature(token.clone()))
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for junk in [
            "",
            "l1042c7",
            "l1042c7-",
            "x1042c7-aaaa",
            "lc7-aaaa",
            "l1c2-!!!",
            "l1c2-aa",
        ] {
            assert!(
                matches!(verify(SECRET, junk), Err(TokenError::Malformed(_))),
                "{junk:?}"
            );
        }
    }
}
