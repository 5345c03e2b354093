//! What makes two deliveries the same message, and which mail is leadbot's own. Read from
//! the raw header block, so that even mail the parser refuses gets the same answer every
//! time it is delivered.

use sha2::{Digest, Sha256};

/// The Message-ID is the idempotency key; without one, the bytes' hash is.
pub fn idempotency_key(message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id {
        Some(id) if !id.trim().is_empty() => format!("mid:{}", id.trim()),
        _ => format!("sha256:{}", hex_sha256(raw)),
    }
}

/// The key of a message that reuses a known Message-ID with other content: one per
/// distinct content, so its own re-deliveries are still recognised.
pub fn reused_id_key(message_id: &str, raw: &[u8]) -> String {
    format!("mid:{}#{}", message_id.trim(), content_fingerprint(raw))
}

/// The headers that say who wrote what to whom and when: with the body, what makes a
/// message the one it is. Trace headers (Received, Delivered-To, Return-Path...) are not.
const SENDER_SIDE_HEADERS: [&str; 4] = ["from", "to", "subject", "date"];

/// True when `a` and `b` are copies of one message: the same body (line endings and
/// trailing blank lines aside) and the same sender-side headers. A header only one copy
/// has is no difference — MTAs add a missing Date, From or To on the way.
pub fn same_message(a: &[u8], b: &[u8]) -> bool {
    let (head_a, body_a) = split_head(a);
    let (head_b, body_b) = split_head(b);
    let (head_a, head_b) = (
        String::from_utf8_lossy(head_a),
        String::from_utf8_lossy(head_b),
    );
    SENDER_SIDE_HEADERS.iter().all(|name| {
        match (header_value(&head_a, name), header_value(&head_b, name)) {
            (Some(one), Some(other)) => one == other,
            _ => true,
        }
    }) && body_lines(body_a).eq(body_lines(body_b))
}

/// A digest of the message as its sender wrote it (see [`same_message`]), naming one
/// content among several that share a Message-ID.
pub fn content_fingerprint(raw: &[u8]) -> String {
    let (head, body) = split_head(raw);
    let head = String::from_utf8_lossy(head);
    let mut hasher = Sha256::new();
    for name in SENDER_SIDE_HEADERS {
        let value = header_value(&head, name).unwrap_or_default();
        hasher.update(name.as_bytes());
        hasher.update(b":");
        hasher.update(value.as_bytes());
        hasher.update(b"\n");
    }
    hasher.update(b"\n");
    for line in body_lines(body) {
        hasher.update(&line);
        hasher.update(b"\n");
    }
    data_encoding::HEXLOWER.encode(&hasher.finalize())
}

/// The body's lines without their line endings, trailing blank lines dropped (transports
/// add one), and without NUL bytes, which no mail may carry and MTAs rewrite (Postfix
/// turns them into 0x80, so that byte goes too).
fn body_lines(body: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut lines: Vec<&[u8]> = body
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .collect();
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    lines.into_iter().map(|line| {
        line.iter()
            .copied()
            .filter(|&b| b != 0x00 && b != 0x80)
            .collect()
    })
}

/// The Message-ID read straight from the header block.
pub fn quick_message_id(raw: &[u8]) -> Option<String> {
    let (head, _) = split_head(raw);
    let value = header_value(&String::from_utf8_lossy(head), "message-id")?;
    let id = value
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty() && id.len() <= 998).then(|| id.to_string())
}

/// `a+anything@Example.TEST` → `a@example.test`: the mailbox a plus-address delivers to.
pub fn bare_address(email: &str) -> String {
    let email = email.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _)| base);
            format!("{local}@{domain}")
        }
        None => email,
    }
}

/// True for a Message-ID of the form leadbot gives its own mail under the bot's domain:
/// `leadbot.<16 hex>@domain`, or `<token>.<16 hex>@domain` with a token `is_token` accepts.
pub fn looks_generated(id: &str, bot_domain: &str, is_token: impl Fn(&str) -> bool) -> bool {
    let id = id.trim().trim_matches(['<', '>']);
    let Some((local, domain)) = id.rsplit_once('@') else {
        return false;
    };
    let Some((prefix, random)) = local.rsplit_once('.') else {
        return false;
    };
    domain.eq_ignore_ascii_case(bot_domain)
        && random.len() == 16
        && random.bytes().all(|b| b.is_ascii_hexdigit())
        && (prefix == "leadbot" || is_token(prefix))
}

/// The longest header block kept of an oversized message.
const KEPT_HEADER_BYTES: usize = 256 * 1024;
/// How much of an oversized message's body is kept.
pub const KEPT_BODY_BYTES: usize = 64 * 1024;

/// What is stored of a message: all of it up to `limit` bytes; past it, the header block
/// (at most 256 KiB) and the first 64 KiB of the body, enough to see what it was.
pub fn kept_part(raw: &[u8], limit: usize) -> std::borrow::Cow<'_, [u8]> {
    if raw.len() <= limit {
        return raw.into();
    }
    let (head, body) = split_head(raw);
    let head = &head[..head.len().min(KEPT_HEADER_BYTES)];
    let body = &body[..body.len().min(KEPT_BODY_BYTES)];
    let mut kept = Vec::with_capacity(head.len() + 4 + body.len());
    kept.extend_from_slice(head);
    kept.extend_from_slice(b"\r\n\r\n");
    kept.extend_from_slice(body);
    kept.into()
}

fn hex_sha256(raw: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(raw))
}

/// The header block and the body, split at the first empty line.
fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = raw.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(c), Some(l)) if l < c => (&raw[..l], &raw[l + 2..]),
        (Some(c), _) => (&raw[..c], &raw[c + 4..]),
        (None, Some(l)) => (&raw[..l], &raw[l + 2..]),
        (None, None) => {
            let end = raw.len().min(64 * 1024);
            (&raw[..end], &[])
        }
    }
}

/// The first header named `name` (case-insensitive), unfolded and trimmed.
fn header_value(head: &str, name: &str) -> Option<String> {
    let mut lines = head.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        if field.starts_with([' ', '\t']) || !field.trim().eq_ignore_ascii_case(name) {
            continue;
        }
        let mut value = value.trim().to_string();
        while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
            value.push(' ');
            value.push_str(next.trim());
            lines.next();
        }
        return Some(value);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_message_id_else_a_hash() {
        assert_eq!(idempotency_key(Some("a@b"), b"x"), "mid:a@b");
        let hashed = idempotency_key(None, b"x");
        assert!(hashed.starts_with("sha256:"));
        assert_eq!(hashed, idempotency_key(Some("  "), b"x"));
        assert_ne!(hashed, idempotency_key(None, b"y"));
    }

    #[test]
    fn the_message_id_is_read_even_from_broken_mail() {
        let raw = b"From: x\r\nMessage-ID:\r\n <abc@example.test>\r\n\r\nbody";
        assert_eq!(quick_message_id(raw).as_deref(), Some("abc@example.test"));
        assert_eq!(quick_message_id(b"\x00\xff garbage"), None);
        assert_eq!(quick_message_id(b"Message-Id: <>\n\n"), None);
    }

    const MAIL: &str = "From: Chloé <chloe@client.test>\r\nTo: contoso-fr@leads.example.test\r\n\
        Subject: Teams\r\nDate: Mon, 02 Nov 2026 09:00:00 +0100\r\nMessage-ID: <m@client.test>\r\n\
        \r\nHello,\r\nTeams please.\r\n";

    #[test]
    fn trace_headers_and_line_endings_do_not_change_the_fingerprint() {
        let traced = format!(
            "Received: from mx.test by mail.test\r\nDelivered-To: contoso-fr@leads.example.test\r\n{MAIL}"
        );
        let lf = MAIL.replace("\r\n", "\n");
        let base = content_fingerprint(MAIL.as_bytes());
        assert_eq!(content_fingerprint(traced.as_bytes()), base);
        assert_eq!(content_fingerprint(lf.as_bytes()), base);
    }

    #[test]
    fn copies_an_mta_completed_or_rewrote_are_the_same_message() {
        let sent =
            b"From: a@x.test\r\nTo: b@y.test\r\nMessage-ID: <m@x.test>\r\n\r\n\x00\xff hi\r\n";
        let delivered = b"Received: by mail.y.test\r\nFrom: a@x.test\r\nTo: b@y.test\r\n\
            Message-ID: <m@x.test>\r\nDate: Wed, 2 Dec 2026 07:24:58 +0000\r\n\r\n\x80\xff hi\r\n\r\n";
        assert!(same_message(sent, delivered));
        assert!(same_message(
            MAIL.as_bytes(),
            MAIL.replace("\r\n", "\n").as_bytes()
        ));
        let other = MAIL.replace("Teams please.", "Azure please.");
        assert!(!same_message(MAIL.as_bytes(), other.as_bytes()));
        let redated = MAIL.replace("09:00:00", "10:00:00");
        assert!(!same_message(MAIL.as_bytes(), redated.as_bytes()));
    }

    #[test]
    fn body_or_sender_side_headers_change_the_fingerprint() {
        let base = content_fingerprint(MAIL.as_bytes());
        for changed in [
            MAIL.replace("Teams please.", "Azure please."),
            MAIL.replace("Subject: Teams", "Subject: Azure"),
            MAIL.replace("chloe@client.test", "eve@client.test"),
            MAIL.replace("09:00:00", "09:00:01"),
            MAIL.replace("To: contoso-fr", "To: fabrikam"),
        ] {
            assert_ne!(content_fingerprint(changed.as_bytes()), base, "{changed}");
        }
    }

    #[test]
    fn an_oversized_message_keeps_its_headers_and_a_prefix() {
        assert_eq!(&*kept_part(MAIL.as_bytes(), 10_000), MAIL.as_bytes());
        let big = format!("{MAIL}{}", "x".repeat(200_000));
        let kept = kept_part(big.as_bytes(), 100_000);
        assert!(kept.len() < 70 * 1024, "{}", kept.len());
        assert_eq!(quick_message_id(&kept).as_deref(), Some("m@client.test"));
        assert!(kept.ends_with(b"xxxx"));
    }

    #[test]
    fn plus_addresses_reach_their_base_mailbox() {
        assert_eq!(
            bare_address("Leads+ABC@Leads.Example.TEST"),
            "leads@leads.example.test"
        );
        assert_eq!(bare_address("leads@x.test"), "leads@x.test");
    }

    #[test]
    fn generated_ids_are_recognised_by_form_and_domain() {
        let token_ok = |t: &str| t == "l1042c7-sig";
        assert!(looks_generated(
            "leadbot.0123456789abcdef@leads.example.test",
            "leads.example.test",
            token_ok
        ));
        assert!(looks_generated(
            "<l1042c7-sig.0123456789abcdef@leads.example.test>",
            "leads.example.test",
            token_ok
        ));
        assert!(!looks_generated(
            "forged.0123456789abcdef@leads.example.test",
            "leads.example.test",
            token_ok
        ));
        assert!(!looks_generated(
            "leadbot.0123456789abcdef@other.test",
            "leads.example.test",
            token_ok
        ));
        assert!(!looks_generated(
            "leadbot.0123@leads.example.test",
            "leads.example.test",
            token_ok
        ));
    }
}
