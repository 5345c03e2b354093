//! Pre-filled replies and `mailto:` links: the command and only what is true, never an
//! invented value.

use crate::domain::{Lead, Locale};

/// The ACCEPT reply a contact can copy or open: the command, the deal name when the
/// customer's company is known, and empty lines for what only the partner can tell. An
/// empty line means "not given", so the reply sent as is stores nothing invented. The
/// labels are typeset for the locale (the parser reads no-break spaces); `company` goes
/// through `wrap` (marked as the customer's words when shown, as is in a link).
pub(super) fn accept_example(lead: &Lead, locale: Locale, wrap: fn(&str) -> String) -> String {
    let company = wrap(lead.customer.company.as_deref().unwrap_or_default());
    let labels = match locale {
        Locale::Fr => [
            "ACCEPTER",
            "Nom de l'affaire : ",
            "Valeur :",
            "Délai :",
            "Notes :",
        ],
        Locale::En => ["ACCEPT", "Deal name: ", "Value:", "Timeframe:", "Notes:"],
    };
    let mut lines: Vec<String> = labels.iter().map(|l| locale.typeset(l)).collect();
    lines[1] = format!("{}{company}", lines[1]).trim_end().to_string();
    lines.join("\n")
}

/// The DECLINE reply: the command and empty Reason and Notes lines. Sent as is, it declines
/// for "Other" with no words added.
pub(super) fn decline_example(locale: Locale) -> String {
    locale.typeset(match locale {
        Locale::Fr => "REFUSER\nMotif :\nNotes :",
        Locale::En => "DECLINE\nReason:\nNotes:",
    })
}

/// The DECLINE reply body: the command, then the numbered reasons to choose from, below a
/// blank line (never read as part of the command).
pub(super) fn decline_mailto_body(locale: Locale, reasons: &[(usize, &str)]) -> String {
    let mut body = decline_example(locale);
    body.push_str(&locale.typeset(match locale {
        Locale::Fr => "\n\n(Motif : un numéro ci-dessous, ou vos propres mots)\n",
        Locale::En => "\n\n(Reason: a number below, or your own words)\n",
    }));
    for (number, label) in reasons {
        body.push_str(&format!("{number}. {label}\n"));
    }
    body
}

/// A `mailto:` URL that opens a reply with subject and body filled in (RFC 6068).
pub(super) fn mailto(to: &str, subject: &str, body: &str) -> String {
    if to.is_empty() {
        return String::new();
    }
    let body = body.replace('\n', "\r\n");
    format!(
        "mailto:{}?subject={}&body={}",
        percent_encode(to),
        percent_encode(subject),
        percent_encode(&body)
    )
}

/// Everything but RFC 3986 unreserved characters and `@` is percent-encoded (a `+` in an
/// address too, which every client decodes).
pub(super) const MAILTO_ENCODED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

pub(super) fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, MAILTO_ENCODED).to_string()
}

// ─────────────────────────── the template files ───────────────────────────
