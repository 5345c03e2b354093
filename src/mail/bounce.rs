//! Delivery-failure reports: telling one from a person's mail, and reading what it
//! reports — the mail that failed, the addresses that failed and why.
//!
//! Bounces come in every shape. RFC 3464 reports (multipart/report with a
//! message/delivery-status part) are the easy case; Exim, qmail, older Sendmail, Yahoo,
//! mobile carriers and list managers write plain text. So a message is a bounce by its
//! structure, by headers only bounces carry (`X-Failed-Recipients`, Exchange's NDR flag),
//! by its sender (mailer-daemon, postmaster, an empty `<>` or no From at all), by its
//! subject (in the languages MTAs are configured in), or by the opening words MTAs use —
//! the weaker signs only when another sign of automated mail backs them, so a person
//! writing "my mail could not be delivered" is still read as a person.

use std::sync::LazyLock;

use super::parse::{InboundMail, message_id_in_header_text};
use super::patterns::{Phrases, single_spaced};

/// What a bounce says, as far as it can be told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BounceReport {
    /// The Message-ID of the mail that failed (from the enclosed message or headers, or
    /// from headers quoted in the text).
    pub original_message_id: Option<String>,
    /// The addresses that failed, lower-cased.
    pub failed_recipients: Vec<String>,
    /// False for a delay warning ("will retry"): nothing has failed yet.
    pub permanent: bool,
    /// The MTA's diagnostic, one line, for the operator.
    pub diagnostic: Option<String>,
}

/// Whether the message reports a delivery failure or delay; see the module documentation.
pub fn is_bounce(mail: &InboundMail) -> bool {
    if mail.is_dsn || !mail.bounce_headers.is_empty() {
        return true;
    }
    if mail.report_type.is_some() {
        // Read receipts and abuse reports are automated, but they are not bounces.
        return false;
    }
    let subject = bounce_subject(&mail.subject);
    let daemon = sender_is_mail_system(mail);
    if daemon == Daemon::Certain || subject == Subject::Report {
        return true;
    }
    let body = has_bounce_opening(&mail.text);
    let null_sender = mail.return_path_empty || mail.auto_submitted.is_some();
    let automated = null_sender || mail.enclosed_message_id.is_some();
    let no_sender = mail.from.is_none();
    let maybe = subject == Subject::MaybeReport;
    match daemon {
        // No usable From: a report only with another sign of one.
        Daemon::Likely if no_sender => body || null_sender || maybe,
        Daemon::Likely => body || automated || maybe,
        _ => (body || maybe) && automated || body && maybe,
    }
}

/// Reads a bounce; call it on messages [`is_bounce`] accepts.
pub fn read(mail: &InboundMail) -> BounceReport {
    let status = mail.delivery_status.as_deref().unwrap_or_default();
    let fields = |name: &str| -> Vec<String> {
        status
            .lines()
            .filter_map(|line| {
                let (label, value) = line.split_once(':')?;
                label
                    .trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_string())
            })
            .collect()
    };
    let mut failed: Vec<String> = fields("Final-Recipient")
        .into_iter()
        .chain(fields("Original-Recipient"))
        .filter_map(|v| address_in(v.rsplit(';').next().unwrap_or_default()))
        .collect();
    for header in &mail.bounce_headers {
        if header.name.eq_ignore_ascii_case("X-Failed-Recipients") {
            failed.extend(header.value.split(',').filter_map(address_in));
        }
    }
    if failed.is_empty() {
        failed.extend(addresses_in_text(&mail.text));
    }
    failed.sort();
    failed.dedup();
    let actions = fields("Action");
    let permanent = if actions.is_empty() {
        !is_delay_warning(&mail.subject, &mail.text)
    } else {
        actions.iter().any(|a| a.eq_ignore_ascii_case("failed"))
    };
    let diagnostic = fields("Diagnostic-Code")
        .into_iter()
        .next()
        .map(|d| {
            d.split_once(';')
                .map_or(d.clone(), |(_, v)| v.trim().to_string())
        })
        .or_else(|| diagnostic_line(&mail.text))
        .map(|d| d.chars().take(300).collect());
    BounceReport {
        original_message_id: mail
            .enclosed_message_id
            .clone()
            .or_else(|| quoted_message_id(&mail.text)),
        failed_recipients: failed,
        permanent,
        diagnostic,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Daemon {
    /// mailer-daemon and its spellings: it sends nothing but reports.
    Certain,
    /// postmaster, an empty From, Exchange's system mailbox: usually reports.
    Likely,
    No,
}

fn sender_is_mail_system(mail: &InboundMail) -> Daemon {
    const DAEMONS: &[&str] = &[
        "mailer-daemon",
        "mailer_daemon",
        "mailerdaemon",
        "mail-daemon",
        "maildaemon",
        "mail.daemon",
    ];
    const SYSTEMS: &[&str] = &["postmaster", "mail-delivery-system", "mdaemon", "bounce"];
    let local = mail
        .from
        .as_ref()
        .map(|f| f.email.split('@').next().unwrap_or_default().to_string());
    let header = mail
        .from_header
        .as_deref()
        .unwrap_or_default()
        .to_lowercase();
    match local.as_deref() {
        Some(local) if DAEMONS.contains(&local) => Daemon::Certain,
        Some(local)
            if SYSTEMS.contains(&local)
                || local.starts_with("microsoftexchange")
                || header.contains("mail delivery") =>
        {
            Daemon::Likely
        }
        Some(_) => Daemon::No,
        // `From: MAILER-DAEMON <>` or a bare `mailer-daemon`.
        None if DAEMONS.iter().any(|d| header.contains(d)) => Daemon::Certain,
        // An empty From, or none: a report only with another sign.
        None => Daemon::Likely,
    }
}

/// Subjects only MTAs give their reports, lower-cased, in the languages they ship.
const BOUNCE_SUBJECTS: &[&str] = &[
    // English: Postfix, Exim, Sendmail, Exchange, Gmail, SES, Outlook.com.
    "undelivered mail returned to sender",
    "delivery status notification",
    "mail delivery failed",
    "mail delivery failure",
    "mail delivery system",
    "undeliverable:",
    "returned mail:",
    "delivery notification: delivery has failed",
    "warning: could not send message",
    "mimecast undeliverable",
    // French
    "non remis :",
    "non remis:",
    "non distribuable",
    "échec de la remise",
    "echec de la remise",
    "notification d'état de remise",
    "notification d'etat de remise",
    // German
    "unzustellbar",
    "nicht zustellbar",
    "benachrichtigung zum zustellstatus",
    // Spanish, Italian, Portuguese, Dutch
    "no se puede entregar",
    "notificación de estado de entrega",
    "non recapitabile",
    "mancato recapito",
    "não é possível entregar",
    "onbestelbaar",
    // Japanese, Chinese, Korean
    "配信不能",
    "配送エラー",
    "配信エラー",
    "配送失敗",
    "未配信",
    "送信エラー",
    "退信",
    "无法投递",
    "無法傳遞",
    "전달 실패",
    "배달 실패",
];

/// Subjects of reports that a person could also write ("Delivery failure of our ERP"):
/// a bounce only with another sign (the sender, the null sender, the report's opening).
const PLAIN_WORDS_SUBJECTS: &[&str] = &[
    "delivery failure",
    "delivery failed",
    "delivery has failed",
    "returned mail",
    "failure notice",
    "message delivery failure",
    "message delivery failed",
    "message not delivered",
    "message could not be delivered",
    "mail could not be delivered",
    "undeliverable mail",
    "undeliverable message",
    "undelivered mail",
    "undelivered message",
    "delayed mail",
    "delivery delayed",
    "mail delivery delayed",
    "mail system error",
    "nondeliverable mail",
    "non-delivery report",
    "message non délivré",
    "message non delivre",
    "zustellung fehlgeschlagen",
    "fehler bei der zustellung",
    "mensaje no entregado",
    "error de entrega",
    "mensagem não entregue",
    "niet bezorgd",
];

static REPORT_SUBJECT: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(BOUNCE_SUBJECTS));
static PLAIN_WORDS_SUBJECT: LazyLock<Phrases> =
    LazyLock::new(|| Phrases::new(PLAIN_WORDS_SUBJECTS));

/// How surely a subject names a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    Report,
    MaybeReport,
    Other,
}

fn bounce_subject(subject: &str) -> Subject {
    let lower = super::classify::subject_head(subject).to_lowercase();
    let lower = lower.trim();
    // "Fwd: Undeliverable: …" is a person passing a report on: not a report.
    let passed_on = ["fw:", "fwd:", "tr:", "wg:", "rv:"]
        .iter()
        .any(|p| lower.starts_with(p));
    if passed_on {
        Subject::Other
    } else if REPORT_SUBJECT.found_in(lower) {
        Subject::Report
    } else if PLAIN_WORDS_SUBJECT.found_in(lower) {
        Subject::MaybeReport
    } else {
        Subject::Other
    }
}

/// Openings of report texts, lower-cased; looked for in the first lines only.
const BOUNCE_OPENINGS: &[&str] = &[
    "this is the mail system at host",
    "i'm sorry to have to inform you that your message could not",
    "this message was created automatically by mail delivery software",
    "a message that you sent could not be delivered",
    "hi. this is the qmail-send program",
    "the original message was received at",
    "----- the following addresses had permanent fatal errors -----",
    "delivery to the following recipient failed permanently",
    "delivery to the following recipients failed",
    "delivery has failed to these recipients or groups",
    "your message to",
    "your message wasn't delivered",
    "your message couldn't be delivered",
    "your message could not be delivered",
    "message could not be delivered",
    "could not be delivered to",
    "was not delivered to",
    "sorry, we were unable to deliver your message",
    "unable to deliver your message",
    "this is an automatically generated delivery status notification",
    "the following message to",
    "delivery failed",
    "permanent error",
    "your email could not be delivered",
    "an error occurred while trying to deliver",
    "le message n'a pas pu être remis",
    "votre message n'a pas pu être remis",
    "votre message n'a pas pu être distribué",
    "ihre nachricht konnte nicht",
    "die nachricht konnte nicht zugestellt werden",
    "no se pudo entregar",
    "su mensaje no se pudo entregar",
    "il messaggio non è stato recapitato",
    "メールを配信できませんでした",
    "配信できませんでした",
];

fn has_bounce_opening(text: &str) -> bool {
    let head: String = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(12)
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let head = single_spaced(&head);
    let wont_deliver = head.contains("your message to") && head.contains("could not");
    wont_deliver || BOUNCE_OPENING.found_in(&head)
}

/// The openings but "your message to", which opens a person's mail too: it counts only
/// with "could not" (above).
static BOUNCE_OPENING: LazyLock<Phrases> = LazyLock::new(|| {
    let openings: Vec<&'static str> = BOUNCE_OPENINGS
        .iter()
        .copied()
        .filter(|o| *o != "your message to")
        .collect();
    Phrases::new(&openings)
});

fn is_delay_warning(subject: &str, text: &str) -> bool {
    let lower = format!(
        "{} {}",
        subject.to_lowercase(),
        text.chars().take(1500).collect::<String>().to_lowercase()
    );
    [
        "delayed",
        "will retry",
        "still being retried",
        "could not send message for past",
        "has not yet been delivered",
        "warning: message",
        "(delay)",
    ]
    .iter()
    .any(|w| lower.contains(w))
        && !lower.contains("permanent")
}

/// A Message-ID among headers quoted in the text ("--- Below this line is a copy of
/// the message.", "------ This is a copy of the message, including all the headers.").
fn quoted_message_id(text: &str) -> Option<String> {
    let unquoted: String = text
        .lines()
        .map(|l| l.trim_start_matches(['>', ' ', '|']))
        .collect::<Vec<_>>()
        .join("\n");
    message_id_in_header_text(&unquoted)
}

/// The first address-like word of a value, without brackets, lower-cased.
fn address_in(value: &str) -> Option<String> {
    value
        .split(|c: char| c.is_whitespace() || "<>()[]\"',;:".contains(c))
        .find(|w| {
            w.split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        })
        .map(|w| w.trim_end_matches('.').to_lowercase())
}

/// Addresses a plain-text report names as failing: every address in its own text
/// (qmail's `<addr>:`, Exim's indented list, Exchange's bare lines, "Recipient: addr"),
/// up to where the copy of the returned message starts.
fn addresses_in_text(text: &str) -> Vec<String> {
    const COPY_MARKERS: &[&str] = &[
        "below this line is a copy of the message",
        "this is a copy of the message",
        "original message",
        "original-recipient",
        "reporting-mta",
        "received:",
        "message-id:",
        "from:",
        "to:",
        "return-path:",
    ];
    let mut found = Vec::new();
    for line in text.lines().take(80) {
        let lower = line.to_lowercase();
        let copy_starts = COPY_MARKERS
            .iter()
            .any(|m| lower.trim_start().starts_with(m) || (m.len() > 20 && lower.contains(m)));
        if copy_starts {
            break;
        }
        if line.contains('@') {
            found.extend(
                line.split(|c: char| c.is_whitespace() || "<>()[]\"',;:".contains(c))
                    .filter_map(address_in),
            );
        }
    }
    found
}

/// The line of a plain-text report that says why: an SMTP status or "said:".
fn diagnostic_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .take(80)
        .find(|line| {
            let lower = line.to_lowercase();
            lower.contains("said:")
                || lower.contains("user unknown")
                || lower.contains("does not exist")
                || lower.contains("mailbox unavailable")
                || lower.contains("mailbox full")
                || lower.contains("quota")
                || line.split_whitespace().any(|w| {
                    w.len() == 3 && w.starts_with('5') && w.bytes().all(|b| b.is_ascii_digit())
                })
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse;

    fn mail(raw: &str) -> InboundMail {
        parse(raw.replace('\n', "\r\n").as_bytes()).expect("parses")
    }

    #[test]
    fn a_person_mentioning_a_failed_delivery_is_not_a_bounce() {
        let person = mail(
            "From: Ann <ann@client.test>\nSubject: Question\n\n\
             Hello, my message could not be delivered to your sales team, can you help?\n",
        );
        assert!(!is_bounce(&person));
        let forwarded =
            mail("From: Ann <ann@client.test>\nSubject: Fwd: Undeliverable: Teams\n\nSee below.\n");
        assert!(!is_bounce(&forwarded));
    }

    #[test]
    fn an_empty_or_missing_sender_with_a_report_opening_is_a_bounce() {
        let no_from = mail(
            "To: leads@leads.example.test\nSubject: Notice\n\n\
             Hi. This is the qmail-send program at mx.client.test.\n\
             I'm afraid I wasn't able to deliver your message to the following addresses.\n\n\
             <gone@client.test>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n\
             --- Below this line is a copy of the message.\n\n\
             Message-ID: <ack-1.x@leads.example.test>\nSubject: We received your request\n",
        );
        assert!(is_bounce(&no_from));
        let report = read(&no_from);
        assert_eq!(
            report.original_message_id.as_deref(),
            Some("ack-1.x@leads.example.test")
        );
        assert_eq!(report.failed_recipients, vec!["gone@client.test"]);
        assert!(report.permanent);
    }

    #[test]
    fn a_delay_warning_is_a_bounce_that_failed_nothing_yet() {
        let delay = mail(
            "From: MAILER-DAEMON@mx.test\nSubject: Delayed Mail (still being retried)\n\n\
             This is the mail system at host mx.test.\n\n\
             ####################################################################\n\
             # THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n",
        );
        assert!(is_bounce(&delay));
        assert!(!read(&delay).permanent);
    }

    #[test]
    fn localized_subjects_are_bounces() {
        for subject in [
            "Non remis : [L-1042] Nouvelle piste",
            "Unzustellbar: Teams",
            "No se puede entregar: Azure",
            "配信不能: 新しいリード",
            "Notification d'état de remise (échec)",
        ] {
            let raw = format!("From: x@mx.test\nSubject: {subject}\n\nx\n");
            assert!(is_bounce(&mail(&raw)), "{subject}");
        }
    }
}
