//! What kind of inbound message this is, decided from headers only.
//!
//! Automated mail comes first, because it must never be answered (RFC 3834)
//! and must never be taken for a contact's command: bounces, then
//! auto-replies, then list mail. What remains is a reply to one of leadbot's
//! notifications when it carries a correlation hint, else a new request.

use serde::{Deserialize, Serialize};

use super::parse::InboundMail;
use super::patterns::single_spaced;

/// The kinds of inbound mail leadbot tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailClass {
    /// A reply to a notification: may carry a command.
    Reply,
    /// Anything else from a person: an RFI or a forwarded lead.
    Request,
    /// A delivery failure report.
    Bounce,
    /// A vacation or other automatic answer.
    AutoReply,
    /// Mailing-list or bulk mail.
    List,
}

/// What classification needs to know about the bot itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifyContext {
    /// The bot's mailbox, e.g. `leads@leads.example.test`; replies come back
    /// to `leads+TOKEN@leads.example.test`.
    pub bot_address: String,
}

/// Classifies one message; see the module documentation for the order.
pub fn classify(mail: &InboundMail, ctx: &ClassifyContext) -> MailClass {
    if is_bounce(mail) {
        MailClass::Bounce
    } else if is_auto_reply(mail) {
        MailClass::AutoReply
    } else if is_list_mail(mail) {
        MailClass::List
    } else if is_reply_to_bot(mail, ctx) {
        MailClass::Reply
    } else {
        MailClass::Request
    }
}

/// The detail of a plus address of the bot: `DETAIL` when `addr` is
/// `local+DETAIL@domain` and `local@domain` is `bot_address` (compared
/// case-insensitively). The detail keeps its case.
pub fn plus_token(addr: &str, bot_address: &str) -> Option<String> {
    let (local, domain) = addr.trim().rsplit_once('@')?;
    let (bot_local, bot_domain) = bot_address.trim().rsplit_once('@')?;
    let (base, detail) = local.split_once('+')?;
    let same_mailbox =
        base.eq_ignore_ascii_case(bot_local) && domain.eq_ignore_ascii_case(bot_domain);
    (same_mailbox && !detail.is_empty()).then(|| detail.to_string())
}

/// The part of a subject that classification reads: reports, notices and reply prefixes
/// say what they are within their first words, and a subject of hundreds of kilobytes
/// (some spam, some broken mailers) must not make every pattern scan all of it.
pub(crate) fn subject_head(subject: &str) -> &str {
    const READ: usize = 256;
    let mut end = subject.len().min(READ);
    while !subject.is_char_boundary(end) {
        end -= 1;
    }
    &subject[..end]
}

/// The lead number of a subject tag such as `[L-1042]`, anywhere in it.
pub fn lead_tag(subject: &str) -> Option<u64> {
    subject.match_indices("[L-").find_map(|(at, open)| {
        let rest = &subject[at + open.len()..];
        let (digits, _) = rest.split_once(']')?;
        let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        if all_digits {
            digits.parse().ok()
        } else {
            None
        }
    })
}

// ---------------------------------------------------------------------------
// Bounces: see [`super::bounce`].

fn is_bounce(mail: &InboundMail) -> bool {
    super::bounce::is_bounce(mail)
}

// ---------------------------------------------------------------------------
// Auto-replies (RFC 3834, vendor headers, localized subjects and openings)

fn is_auto_reply(mail: &InboundMail) -> bool {
    let auto_submitted = mail.auto_submitted.as_deref().is_some_and(|value| {
        // "auto-replied; owner-email=…": the keyword is before any parameter.
        let keyword = value.split(';').next().unwrap_or_default().trim();
        !keyword.is_empty() && !keyword.eq_ignore_ascii_case("no")
    });
    // X-Auto-Response-Suppress asks *others* not to auto-reply; Outlook puts
    // it on ordinary mail too, so on its own it proves nothing.
    let marker_header = mail.auto_reply_headers.iter().any(|h| {
        !h.name.eq_ignore_ascii_case("X-Auto-Response-Suppress")
            && !matches!(h.value.to_ascii_lowercase().as_str(), "no" | "false" | "0")
    });
    let precedence = mail.precedence.as_deref() == Some("auto_reply");
    // Read receipts (RFC 8098) and abuse-feedback reports (RFC 5965): automated answers.
    let report = mail.report_type.is_some();
    // A vacation notice without any header says so in its first lines; it counts only
    // when it answers something (a reply subject, a lead tag) or comes from the null
    // sender, so a customer mentioning their own holiday in a request is still read.
    let answering = mail.return_path_empty
        || is_reply_subject(&mail.subject)
        || lead_tag(&mail.subject).is_some();
    let opening = answering && has_auto_reply_opening(&mail.text);
    auto_submitted
        || marker_header
        || precedence
        || report
        || has_auto_reply_subject(&mail.subject)
        || opening
}

fn has_auto_reply_subject(subject: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "out of office",
        "out of the office",
        "automatic reply",
        "auto reply",
        "auto-reply",
        "autoreply",
        "auto response",
        "auto-response",
        "autoresponse",
        "vacation reply",
        "away from the office",
        "on vacation",
        "réponse automatique",
        "reponse automatique",
        "réponse automatique d'absence",
        "absent du bureau",
        "absence",
        "abwesenheitsnotiz",
        "abwesend",
        "automatische antwort",
        "automatische antwort:",
        "respuesta automática",
        "respuesta automatica",
        "fuera de la oficina",
        "fuera de oficina",
        "risposta automatica",
        "fuori ufficio",
        "resposta automática",
        "ausente do escritório",
        "automatisch antwoord",
        "afwezig",
        "autosvar",
        "frånvaro",
        "automaattinen vastaus",
        "odpowiedź automatyczna",
        "automatická odpověď",
        "自動応答",
        "自動返信",
        "不在",
        "自动回复",
        "自動回覆",
        "자동 응답",
        "автоматический ответ",
    ];
    let lower = subject_head(subject).trim().to_lowercase();
    PREFIXES.iter().any(|p| lower.starts_with(p))
        || [
            "out of office",
            "automatic reply",
            "autoreply",
            "auto-reply",
        ]
        .iter()
        .any(|p| lower.contains(p))
}

/// The first words of vacation notices, lower-cased.
fn has_auto_reply_opening(text: &str) -> bool {
    const OPENINGS: &[&str] = &[
        "i am out of the office",
        "i'm out of the office",
        "i am currently out of the office",
        "i'm currently out of the office",
        "i will be out of the office",
        "i am out of office",
        "i'm out of office",
        "i am currently out of office",
        "i am on vacation",
        "i am on annual leave",
        "i am away from the office",
        "this is an automatic reply",
        "this is an automated response",
        "je suis absent",
        "je suis actuellement absent",
        "je serai absent",
        "je suis en congé",
        "je suis en congés",
        "ceci est une réponse automatique",
        "ich bin bis",
        "ich bin derzeit nicht im büro",
        "vielen dank für ihre nachricht. ich bin",
        "estoy fuera de la oficina",
        "estaré fuera de la oficina",
        "sono fuori ufficio",
        "sarò fuori ufficio",
        "estou fora do escritório",
        "ik ben afwezig",
    ];
    // The notice opens the text (after a greeting at most): "ACCEPT\nI am out of the
    // office tomorrow" is a command from a person.
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = lines.next().unwrap_or_default().to_lowercase();
    let is_greeting = first.ends_with(',') && first.split_whitespace().count() <= 4;
    if is_greeting {
        first = lines.next().unwrap_or_default().to_lowercase();
    }
    let first = single_spaced(&first);
    OPENINGS.iter().any(|o| first.starts_with(o))
}

// ---------------------------------------------------------------------------
// Lists

fn is_list_mail(mail: &InboundMail) -> bool {
    mail.list_id.is_some()
        || mail.list_unsubscribe.is_some()
        || matches!(mail.precedence.as_deref(), Some("bulk" | "list" | "junk"))
}

// ---------------------------------------------------------------------------
// Replies to the bot

fn is_reply_to_bot(mail: &InboundMail, ctx: &ClassifyContext) -> bool {
    let to_plus_address = mail
        .to
        .iter()
        .chain(&mail.cc)
        .map(|m| m.email.as_str())
        .chain(mail.delivered_to.iter().map(String::as_str))
        .any(|addr| plus_token(addr, &ctx.bot_address).is_some());
    let threads_on_bot_message = bot_domain(ctx).is_some_and(|domain| {
        mail.in_reply_to
            .iter()
            .chain(&mail.references)
            .any(|id| id_domain(id).is_some_and(|d| d.eq_ignore_ascii_case(domain)))
    });
    let tagged_reply = is_reply_subject(&mail.subject) && lead_tag(&mail.subject).is_some();
    to_plus_address || threads_on_bot_message || tagged_reply
}

fn bot_domain(ctx: &ClassifyContext) -> Option<&str> {
    ctx.bot_address.rsplit_once('@').map(|(_, d)| d.trim())
}

fn id_domain(id: &str) -> Option<&str> {
    id.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>'))
}

/// Subject starts with a reply prefix: Re:, RE:, AW:, TR:, Réf :, SV:, …
fn is_reply_subject(subject: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "re", "aw", "tr", "réf", "ref", "sv", "vs", "antw", "odp", "r",
    ];
    let lower = subject_head(subject.trim_start()).to_lowercase();
    let Some((prefix, _)) = lower.split_once(':') else {
        return false;
    };
    PREFIXES.contains(&prefix.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_token_matches_the_bot_case_insensitively() {
        let bot = "leads@leads.example.test";
        assert_eq!(
            plus_token("LEADS+Ab12@Leads.Example.TEST", bot).as_deref(),
            Some("Ab12")
        );
        assert_eq!(plus_token("leads@leads.example.test", bot), None);
        assert_eq!(plus_token("leads+@leads.example.test", bot), None);
        assert_eq!(plus_token("other+x@leads.example.test", bot), None);
        assert_eq!(plus_token("leads+x@elsewhere.test", bot), None);
        assert_eq!(plus_token("not an address", bot), None);
    }

    #[test]
    fn lead_tag_finds_the_number() {
        assert_eq!(lead_tag("RE: [L-1042] New lead"), Some(1042));
        assert_eq!(lead_tag("[L-] x [L-7]"), Some(7));
        assert_eq!(lead_tag("[L-12a]"), None);
        assert_eq!(lead_tag("[L-99999999999999999999999]"), None);
        assert_eq!(lead_tag("no tag"), None);
    }

    #[test]
    fn reply_prefixes_are_recognised() {
        assert!(is_reply_subject("RE: [L-1]"));
        assert!(is_reply_subject("Réf : [L-1]"));
        assert!(is_reply_subject("AW: x"));
        let huge = format!("Re: {}", "x".repeat(300_000));
        assert!(is_reply_subject(&huge));
        assert!(!has_auto_reply_subject(&format!(
            "{} out of office",
            "é".repeat(200_000)
        )));
        assert!(!is_reply_subject("Question: x"));
        assert!(!is_reply_subject("[L-1] no prefix"));
    }

    #[test]
    fn auto_reply_subjects_are_recognised() {
        assert!(has_auto_reply_subject("Réponse automatique : [L-3]"));
        assert!(has_auto_reply_subject("Abwesenheitsnotiz: x"));
        assert!(!has_auto_reply_subject("Re: my office"));
        assert!(has_auto_reply_subject("自動応答: [L-3]"));
        assert!(has_auto_reply_subject("Respuesta automática: Azure"));
    }

    #[test]
    fn a_vacation_opening_counts_only_on_an_answer() {
        let notice = "I am out of the office until 4 January with limited access to mail.";
        let raw = |subject: &str| {
            format!("From: ann@client.test\r\nSubject: {subject}\r\n\r\n{notice}\r\n")
        };
        let ctx = ClassifyContext {
            bot_address: "leads@leads.example.test".into(),
        };
        let answer = crate::mail::parse(raw("Re: [L-1042] New lead").as_bytes()).expect("parses");
        assert_eq!(classify(&answer, &ctx), MailClass::AutoReply);
        let request = crate::mail::parse(raw("Teams project").as_bytes()).expect("parses");
        assert_eq!(classify(&request, &ctx), MailClass::Request);
    }
}
