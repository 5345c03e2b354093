//! Writing one outbound message: the headers that make it thread, correlate and stay out of
//! auto-reply loops, and a text part with an optional HTML alternative, which may carry
//! inline images (`multipart/related`, referenced as `cid:` from the HTML).

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use rand::Rng;

use crate::domain::EmailAddress;

/// A message ready to be queued: everything but the sender, which comes from configuration.
///
/// Message-IDs (`message_id`, `in_reply_to`, `references`) are stored bare, without angle
/// brackets, as mail parsers report them; the brackets are added when the headers are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: EmailAddress,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub message_id: String,
    pub reply_to: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Images the HTML shows as `cid:<content_id>`; ignored without HTML.
    pub inline: Vec<InlinePart>,
}

/// An image travelling with the HTML part (RFC 2387 `multipart/related`, RFC 2392 `cid:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePart {
    /// Without angle brackets: `chart@leads.example.test`.
    pub content_id: String,
    /// `image/png`.
    pub content_type: String,
    /// `chart.png`: what a client that lists the part calls it.
    pub filename: String,
    pub data: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot use `{address}` as the {role} address")]
    Address {
        role: &'static str,
        address: String,
        source: lettre::address::AddressError,
    },
    #[error("inline part `{content_id}` has an unusable content type `{content_type}`")]
    InlineType {
        content_id: String,
        content_type: String,
    },
    #[error("cannot assemble the message to {to}")]
    Assemble {
        to: String,
        source: lettre::error::Error,
    },
}

/// A fresh Message-ID for mail about a lead. With a reply token the token leads the left part
/// (`TOKEN.RANDOM@domain`), so a reply sent to From still names its lead in In-Reply-To.
pub fn new_message_id(token: Option<&str>, domain: &str) -> String {
    let random: u64 = rand::thread_rng().r#gen();
    match token {
        Some(token) => format!("{token}.{random:016x}@{domain}"),
        None => format!("leadbot.{random:016x}@{domain}"),
    }
}

/// `leads@domain` + token → `leads+TOKEN@domain`: replies carry the token back.
pub fn plus_address(bot: &EmailAddress, token: &str) -> String {
    format!("{}+{token}@{}", bot.local_part(), bot.domain())
}

impl OutgoingMail {
    /// The whole message as RFC 5322 bytes, ready for SMTP or a `.eml` file.
    pub fn to_rfc5322(&self, from: &EmailAddress, from_name: &str) -> Result<Vec<u8>, BuildError> {
        let mailbox = |role: &'static str, address: &str, name: Option<&str>| {
            address
                .parse()
                .map(|address| Mailbox::new(name.map(str::to_string), address))
                .map_err(|source| BuildError::Address {
                    role,
                    address: address.to_string(),
                    source,
                })
        };
        let mut builder = lettre::Message::builder()
            .from(mailbox("From", from.as_str(), Some(from_name))?)
            .to(mailbox("To", self.to.as_str(), None)?)
            .subject(&self.subject)
            .message_id(Some(bracketed(&self.message_id)))
            // RFC 3834: automated mail; the Microsoft header keeps Exchange from answering it.
            .header(AutoSubmitted)
            .header(SuppressAutoResponse);
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(mailbox("Reply-To", reply_to, None)?);
        }
        if let Some(parent) = &self.in_reply_to {
            builder = builder.in_reply_to(bracketed(parent));
        }
        if !self.references.is_empty() {
            let chain: Vec<String> = self.references.iter().map(|id| bracketed(id)).collect();
            builder = builder.references(chain.join(" "));
        }
        let assembled = match &self.html {
            Some(html) if !self.inline.is_empty() => {
                let mut related = MultiPart::related().singlepart(SinglePart::html(html.clone()));
                for part in &self.inline {
                    let content_type = ContentType::parse(&part.content_type).map_err(|_| {
                        BuildError::InlineType {
                            content_id: part.content_id.clone(),
                            content_type: part.content_type.clone(),
                        }
                    })?;
                    related = related.singlepart(
                        Attachment::new_inline_with_name(
                            part.content_id.clone(),
                            part.filename.clone(),
                        )
                        .body(part.data.clone(), content_type),
                    );
                }
                builder.multipart(
                    MultiPart::alternative()
                        .singlepart(SinglePart::plain(self.text.clone()))
                        .multipart(related),
                )
            }
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                self.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(SinglePart::plain(self.text.clone())),
        };
        let message = assembled.map_err(|source| BuildError::Assemble {
            to: self.to.to_string(),
            source,
        })?;
        Ok(message.formatted())
    }
}

fn bracketed(id: &str) -> String {
    format!("<{}>", id.trim_matches(|c| c == '<' || c == '>'))
}

/// `Auto-Submitted: auto-generated` (RFC 3834).
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

/// `X-Auto-Response-Suppress: All`: Exchange and Outlook send no out-of-office to it.
#[derive(Debug, Clone, Copy)]
struct SuppressAutoResponse;

impl Header for SuppressAutoResponse {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Auto-Response-Suppress")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "All".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(raw: &str) -> EmailAddress {
        EmailAddress::parse(raw).unwrap()
    }

    fn notification() -> OutgoingMail {
        OutgoingMail {
            to: address("alice@contoso.test"),
            subject: "[L-1042] Nouvelle demande : Fabrikam SA".into(),
            text: "Bonjour Alice,\n".into(),
            html: Some("<p>Bonjour Alice,</p>".into()),
            message_id: "l1042c7-abcd.0011223344556677@leads.example.test".into(),
            reply_to: Some("leads+l1042c7-abcd@leads.example.test".into()),
            in_reply_to: Some("first@leads.example.test".into()),
            references: vec![
                "first@leads.example.test".into(),
                "<second@leads.example.test>".into(),
            ],
            inline: Vec::new(),
        }
    }

    fn headers(raw: &[u8]) -> String {
        let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
        text.split("\n\n").next().unwrap_or_default().to_string()
    }

    #[test]
    fn a_notification_carries_threading_token_and_auto_submitted_headers() {
        let raw = notification()
            .to_rfc5322(&address("leads@leads.example.test"), "Leads")
            .unwrap();
        let head = headers(&raw);
        for expected in [
            "From: Leads <leads@leads.example.test>",
            "To: alice@contoso.test",
            "Message-ID: <l1042c7-abcd.0011223344556677@leads.example.test>",
            "Reply-To: leads+l1042c7-abcd@leads.example.test",
            "In-Reply-To: <first@leads.example.test>",
            "References: <first@leads.example.test> <second@leads.example.test>",
            "Auto-Submitted: auto-generated",
            "X-Auto-Response-Suppress: All",
            "Content-Type: multipart/alternative",
        ] {
            assert!(head.contains(expected), "missing {expected:?} in\n{head}");
        }
        let whole = String::from_utf8_lossy(&raw);
        assert!(whole.contains("text/plain") && whole.contains("text/html"));
    }

    /// The whole message as a mail client receives it, with what changes on every run
    /// (Date, MIME boundaries) blanked.
    #[test]
    fn the_wire_format_of_a_notification() {
        let raw = notification()
            .to_rfc5322(&address("leads@leads.example.test"), "Leads")
            .unwrap();
        let text = String::from_utf8(raw).unwrap().replace("\r\n", "\n");
        let boundary = text
            .split("boundary=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string();
        let blanked: Vec<String> = text
            .replace(&boundary, "BOUNDARY")
            .lines()
            .map(|line| match line.strip_prefix("Date: ") {
                Some(_) => "Date: DATE".to_string(),
                None => line.to_string(),
            })
            .collect();
        insta::assert_snapshot!(blanked.join("\n"));
    }

    #[test]
    fn inline_images_travel_related_to_the_html() {
        let mut mail = notification();
        mail.html = Some("<img src=\"cid:chart.1@leads.example.test\">".into());
        mail.inline.push(InlinePart {
            content_id: "chart.1@leads.example.test".into(),
            content_type: "image/png".into(),
            filename: "chart.png".into(),
            data: b"\x89PNG\r\n\x1a\n".to_vec(),
        });
        let raw = mail
            .to_rfc5322(&address("leads@leads.example.test"), "Leads")
            .unwrap();
        let text = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {text}"))
        };
        // alternative ⊃ (text, related ⊃ (html, image)), in that order.
        assert!(at("multipart/alternative") < at("text/plain"));
        assert!(at("text/plain") < at("multipart/related"));
        assert!(at("multipart/related") < at("text/html"));
        assert!(at("text/html") < at("Content-Type: image/png"));
        assert!(text.contains("Content-ID: <chart.1@leads.example.test>"));
        assert!(text.contains("Content-Disposition: inline"));

        mail.inline[0].content_type = "not a type".into();
        let refused = mail.to_rfc5322(&address("leads@leads.example.test"), "Leads");
        assert!(matches!(refused, Err(BuildError::InlineType { .. })));
    }

    #[test]
    fn text_only_mail_is_a_single_part() {
        let mut mail = notification();
        mail.html = None;
        mail.in_reply_to = None;
        mail.references.clear();
        let raw = mail
            .to_rfc5322(&address("leads@leads.example.test"), "Leads")
            .unwrap();
        let head = headers(&raw);
        assert!(head.contains("Content-Type: text/plain"), "{head}");
        assert!(!head.contains("In-Reply-To") && !head.contains("References"));
    }

    #[test]
    fn message_ids_carry_the_token_and_the_bot_domain() {
        let id = new_message_id(Some("l1042c7-abcd"), "leads.example.test");
        assert!(id.starts_with("l1042c7-abcd.") && id.ends_with("@leads.example.test"));
        assert_ne!(
            id,
            new_message_id(Some("l1042c7-abcd"), "leads.example.test")
        );
        let plain = new_message_id(None, "leads.example.test");
        assert!(plain.starts_with("leadbot."), "{plain}");
    }

    #[test]
    fn replies_go_to_a_plus_address() {
        let bot = address("leads@leads.example.test");
        assert_eq!(
            plus_address(&bot, "l1042c7-abcd"),
            "leads+l1042c7-abcd@leads.example.test"
        );
    }
}
