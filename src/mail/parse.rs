//! Raw RFC 5322 bytes to an [`InboundMail`]: the facts leadbot uses about a
//! message, owned and serialisable, so that the raw bytes and what the parser
//! made of them can be stored side by side.
//!
//! MIME structure, charsets and transfer encodings are mail-parser's job; this
//! module picks the fields out, prefers text/plain over HTML for the body, and
//! gathers the headers classification needs. It never panics: whatever the
//! input, the answer is an `InboundMail` or a [`ParseError`].

use chrono::{DateTime, Utc};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;

use super::html::html_to_text;

/// Larger messages are refused before parsing (25 MiB, a common MTA limit).
pub const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// Why a message could not be turned into an [`InboundMail`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message is {size} bytes, larger than the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("input is not an email message: no header could be read")]
    NotAMessage,
    #[error("message has no usable From address")]
    NoSender,
}

/// A name and an address; the address is lower-cased so it can be compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub email: String,
}

/// An attachment, listed but never opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub name: Option<String>,
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: usize,
}

/// A header kept verbatim (unfolded) because classification looks at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawHeader {
    pub name: String,
    pub value: String,
}

/// What leadbot knows about one inbound message.
#[derive(Debug, Clone, Serialize)]
pub struct InboundMail {
    pub from: Option<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Delivered-To and X-Original-To values: where the MTA delivered it,
    /// which keeps the plus-address even when To does not show it.
    pub delivered_to: Vec<String>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The best text body: text/plain when present, else converted HTML.
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// RFC 3834 Auto-Submitted value, if any.
    pub auto_submitted: Option<String>,
    /// Other auto-reply markers seen (X-Autoreply, X-Autorespond, …).
    pub auto_reply_headers: Vec<RawHeader>,
    /// Precedence value, lower-cased.
    pub precedence: Option<String>,
    pub list_id: Option<String>,
    pub list_unsubscribe: Option<String>,
    /// multipart/report with report-type=delivery-status.
    pub is_dsn: bool,
    /// `Return-Path: <>`, the null sender of bounces and auto-replies.
    pub return_path_empty: bool,
    /// For a DSN: the Message-ID of the message that bounced.
    pub bounced_message_id: Option<String>,
    pub authentication_results: Vec<String>,
}

/// Auto-reply headers other than Auto-Submitted that vacation responders set.
const AUTO_REPLY_HEADERS: &[&str] = &[
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "X-Auto-Response-Suppress",
];

/// Parses one message; see the module documentation.
pub fn parse(raw: &[u8]) -> Result<InboundMail, ParseError> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(ParseError::TooLarge {
            size: raw.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(ParseError::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(ParseError::NotAMessage);
    }
    let from = message
        .from()
        .and_then(|a| mailboxes(a).into_iter().next())
        .ok_or(ParseError::NoSender)?;
    let (text, html) = bodies(&message);
    let is_dsn = is_delivery_status_report(&message);

    let mail = InboundMail {
        from: Some(from),
        reply_to: message.reply_to().map(mailboxes).unwrap_or_default(),
        to: message.to().map(mailboxes).unwrap_or_default(),
        cc: message.cc().map(mailboxes).unwrap_or_default(),
        delivered_to: header_texts(&message, "Delivered-To")
            .into_iter()
            .chain(header_texts(&message, "X-Original-To"))
            .map(|v| strip_angle_brackets(&v).to_ascii_lowercase())
            .collect(),
        subject: message.subject().unwrap_or_default().trim().to_string(),
        date: message
            .date()
            .filter(|d| d.is_valid())
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
        message_id: message.message_id().and_then(clean_id),
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        text,
        html,
        attachments: attachments(&message),
        auto_submitted: first_header_text(&message, "Auto-Submitted"),
        auto_reply_headers: auto_reply_headers(&message),
        precedence: first_header_text(&message, "Precedence").map(|p| p.to_ascii_lowercase()),
        list_id: first_header_text(&message, "List-Id"),
        list_unsubscribe: first_header_text(&message, "List-Unsubscribe"),
        is_dsn,
        return_path_empty: return_path_is_empty(&message),
        bounced_message_id: if is_dsn {
            bounced_message_id(&message)
        } else {
            None
        },
        authentication_results: header_texts(&message, "Authentication-Results"),
    };
    Ok(mail.without_nul_characters().with_one_line_fields())
}

impl InboundMail {
    /// NUL has no place in mail text and PostgreSQL refuses it in text and JSON: decoded
    /// parts (`=00`, base64) and broken 8-bit mail can carry it, so it is dropped here,
    /// once, for every string leadbot keeps.
    fn without_nul_characters(mut self) -> Self {
        fn clean(text: &mut String) {
            if text.contains('\0') {
                text.retain(|c| c != '\0');
            }
        }
        fn clean_mailboxes(list: &mut [Mailbox]) {
            for mailbox in list {
                clean(&mut mailbox.email);
                if let Some(name) = mailbox.name.as_mut() {
                    clean(name);
                }
            }
        }
        if let Some(from) = self.from.as_mut() {
            clean_mailboxes(std::slice::from_mut(from));
        }
        clean_mailboxes(&mut self.reply_to);
        clean_mailboxes(&mut self.to);
        clean_mailboxes(&mut self.cc);
        let lists = [
            &mut self.delivered_to,
            &mut self.in_reply_to,
            &mut self.references,
            &mut self.authentication_results,
        ];
        lists.into_iter().flatten().for_each(clean);
        [&mut self.subject, &mut self.text]
            .into_iter()
            .for_each(clean);
        let optional = [
            &mut self.html,
            &mut self.message_id,
            &mut self.auto_submitted,
            &mut self.precedence,
            &mut self.list_id,
            &mut self.list_unsubscribe,
            &mut self.bounced_message_id,
        ];
        optional.into_iter().flatten().for_each(clean);
        for attachment in &mut self.attachments {
            if let Some(name) = attachment.name.as_mut() {
                clean(name);
            }
            clean(&mut attachment.content_type);
        }
        for header in &mut self.auto_reply_headers {
            clean(&mut header.name);
            clean(&mut header.value);
        }
        self
    }
}

// ---------------------------------------------------------------------------
// Addresses and ids

/// Every address of a header (groups flattened), lower-cased; entries
/// without an address (a bare group name) are left out.
fn mailboxes(address: &Address<'_>) -> Vec<Mailbox> {
    address
        .iter()
        .filter_map(|addr| {
            let email = addr.address()?.trim().to_lowercase();
            if email.is_empty() {
                return None;
            }
            let name = addr
                .name()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string);
            Some(Mailbox { name, email })
        })
        .collect()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => clean_id(id).into_iter().collect(),
        HeaderValue::TextList(ids) => ids.iter().filter_map(|id| clean_id(id)).collect(),
        _ => Vec::new(),
    }
}

fn clean_id(id: &str) -> Option<String> {
    let id = strip_angle_brackets(id);
    (!id.is_empty()).then(|| id.to_string())
}

fn strip_angle_brackets(value: &str) -> &str {
    let value = value.trim();
    let value = value.strip_prefix('<').unwrap_or(value);
    let value = value.strip_suffix('>').unwrap_or(value);
    value.trim()
}

// ---------------------------------------------------------------------------
// Raw header access

/// Values of every root header named `name` (case-insensitive), unfolded
/// and trimmed, read from the raw bytes so that any header type works.
fn header_texts(message: &Message<'_>, name: &str) -> Vec<String> {
    let raw = message.raw_message();
    message
        .headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .filter_map(|h| raw.get(h.offset_start() as usize..h.offset_end() as usize))
        .map(|bytes| unfold(&String::from_utf8_lossy(bytes)))
        .collect()
}

fn first_header_text(message: &Message<'_>, name: &str) -> Option<String> {
    header_texts(message, name).into_iter().next()
}

/// Joins folded header lines and collapses runs of whitespace.
fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn auto_reply_headers(message: &Message<'_>) -> Vec<RawHeader> {
    AUTO_REPLY_HEADERS
        .iter()
        .flat_map(|name| {
            header_texts(message, name)
                .into_iter()
                .map(|value| RawHeader {
                    name: (*name).to_string(),
                    value,
                })
        })
        .collect()
}

fn return_path_is_empty(message: &Message<'_>) -> bool {
    header_texts(message, "Return-Path")
        .iter()
        .any(|v| v.split_whitespace().collect::<String>() == "<>")
}

// ---------------------------------------------------------------------------
// Bodies and attachments

/// The text body (text/plain preferred, else converted HTML) and the HTML
/// body if there is one.
fn bodies(message: &Message<'_>) -> (String, Option<String>) {
    let html = message.html_bodies().find_map(|part| match &part.body {
        PartType::Html(html) => Some(html.to_string()),
        _ => None,
    });
    let plain = message.text_bodies().find_map(|part| match &part.body {
        PartType::Text(text) => Some(text.to_string()),
        _ => None,
    });
    let text = match (plain, &html) {
        (Some(text), _) => text,
        (None, Some(html)) => html_to_text(html),
        (None, None) => String::new(),
    };
    (text, html)
}

fn attachments(message: &Message<'_>) -> Vec<Attachment> {
    message
        .attachments()
        .map(|part| Attachment {
            name: part.attachment_name().map(str::to_string),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_string())
                .to_ascii_lowercase(),
            size: part.len(),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Delivery status notifications (RFC 3464)

fn is_delivery_status_report(message: &Message<'_>) -> bool {
    let Some(ct) = message.root_part().content_type() else {
        return false;
    };
    ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && ct
            .attribute("report-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
}

/// The Message-ID of the returned message: from a message/rfc822 part, or
/// from a text/rfc822-headers part (which mail-parser leaves as text).
fn bounced_message_id(message: &Message<'_>) -> Option<String> {
    message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(inner) => inner.message_id().and_then(clean_id),
        _ if is_headers_part(part) => part.text_contents().and_then(message_id_in_header_text),
        _ => None,
    })
}

fn is_headers_part(part: &mail_parser::MessagePart<'_>) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
    })
}

/// Finds "Message-ID: <…>" in a block of header text, value possibly folded
/// onto the next line.
fn message_id_in_header_text(text: &str) -> Option<String> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("message-id") {
            continue;
        }
        let value = match value.trim() {
            "" => lines.next().unwrap_or_default().trim(),
            v => v,
        };
        return clean_id(value);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GMAIL: &[u8] = include_bytes!("../../tests/golden/parse/gmail_reply.eml");
    const OUTLOOK_FR: &[u8] = include_bytes!("../../tests/golden/parse/outlook_fr_html_only.eml");
    const DSN: &[u8] = include_bytes!("../../tests/golden/parse/postfix_dsn.eml");

    #[test]
    fn too_large_is_refused_before_parsing() {
        let raw = vec![b'a'; MAX_MESSAGE_BYTES + 1];
        assert_eq!(
            parse(&raw).err(),
            Some(ParseError::TooLarge {
                size: MAX_MESSAGE_BYTES + 1,
                limit: MAX_MESSAGE_BYTES
            })
        );
    }

    #[test]
    fn empty_input_is_not_a_message() {
        assert_eq!(parse(b"").err(), Some(ParseError::NotAMessage));
    }

    #[test]
    fn message_without_from_has_no_sender() {
        let raw = b"To: a@b.test\r\nSubject: hi\r\n\r\nbody";
        assert_eq!(parse(raw).err(), Some(ParseError::NoSender));
    }

    #[test]
    fn addresses_are_lower_cased_and_ids_unbracketed() {
        let raw = b"From: Alice <Alice@Contoso.TEST>\r\nTo: leads+ABC@Leads.Example.Test\r\nMessage-ID: <x1@contoso.test>\r\nIn-Reply-To: <n1@leads.example.test>\r\nReturn-Path: < >\r\n\r\nhello\r\n";
        let mail = parse(raw).expect("parses");
        let from = mail.from.expect("sender");
        assert_eq!(from.email, "alice@contoso.test");
        assert_eq!(from.name.as_deref(), Some("Alice"));
        assert_eq!(mail.to[0].email, "leads+abc@leads.example.test");
        assert_eq!(mail.message_id.as_deref(), Some("x1@contoso.test"));
        assert_eq!(mail.in_reply_to, vec!["n1@leads.example.test".to_string()]);
        assert!(mail.return_path_empty);
    }

    #[test]
    fn html_only_body_is_converted_with_lines() {
        let mail = parse(OUTLOOK_FR).expect("parses");
        assert!(mail.html.is_some());
        assert!(mail.text.starts_with("ACCEPTER"), "{}", mail.text);
    }

    #[test]
    fn dsn_reports_the_bounced_message_id() {
        let mail = parse(DSN).expect("parses");
        assert!(mail.is_dsn);
        assert_eq!(
            mail.bounced_message_id.as_deref(),
            Some("notif-1042.abc@leads.example.test")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&raw);
        }

        #[test]
        fn mutated_messages_never_panic(
            which in 0usize..3,
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..32),
            cut in any::<usize>(),
        ) {
            let mut raw = [GMAIL, OUTLOOK_FR, DSN][which].to_vec();
            for (at, byte) in edits {
                let at = at % raw.len();
                raw[at] = byte;
            }
            raw.truncate(cut % (raw.len() + 1));
            if let Ok(mail) = parse(&raw) {
                let _ = crate::mail::reply_text(&mail.text);
            }
        }
    }
}
