//! Where a reply's signature starts: the `-- ` delimiter, a mobile client's "Sent from my
//! iPhone", an underscore rule, or a closing ("Best regards") near the end.

use super::MAX_SIGNATURE_LINES;

/// `-- ` (the standard delimiter, right-trimmed to `--`) or a mobile
/// client's "Sent from my iPhone" line.
pub(super) fn is_signature_start(line: &str) -> bool {
    line.trim_end() == "--" || is_underscore_rule(line) || is_mobile_signature(line)
}

/// A line of underscores: Outlook's reply separator and the usual opener of
/// mailing-list footers ("____\nriak-users mailing list").
pub(super) fn is_underscore_rule(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.len() >= 2 && trimmed.chars().all(|c| c == '_')
}

/// "Sent from my iPhone", "Envoyé de mon iPad", "Get Outlook for Android"…:
/// the prefix followed by a few plain words, nothing that reads as a sentence
/// ("Sent from my desk, is much easier" is text).
pub(super) fn is_mobile_signature(line: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "Sent from ",
        "Sent via ",
        "Sent with ",
        "Envoyé de ",
        "Envoyé depuis ",
        "Envoyé avec ",
        "Gesendet von ",
        "Gesendet mit ",
        "Von meinem ",
        "Enviado desde ",
        "Enviado do ",
        "Enviado de ",
        "Inviato da ",
        "Verzonden met ",
        "Verstuurd vanaf ",
        "Wysłane z ",
        "Skickat från ",
        "Sendt fra ",
        "Sent fra ",
        "Lähetetty ",
        "Get Outlook for ",
        "Obtenir Outlook pour ",
    ];
    const MAX_WORDS: usize = 6;
    let line = line.trim();
    let Some(rest) = PREFIXES.iter().find_map(|p| line.strip_prefix(p)) else {
        return false;
    };
    // "Sent from Outlook Mobile<https://aka.ms/…>": a link may follow.
    let rest = match rest.find('<') {
        Some(at) if rest.trim_end().ends_with('>') => &rest[..at],
        _ => rest,
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    !words.is_empty()
        && words.len() <= MAX_WORDS
        && words.iter().all(|w| {
            w.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '\'' | '’' | '.' | '®'))
        })
}

/// Closings that open a signature block in an RFI body.
pub(super) const CLOSINGS: &[&str] = &[
    "regards",
    "best regards",
    "kind regards",
    "warm regards",
    "best",
    "thanks",
    "thank you",
    "many thanks",
    "cheers",
    "sincerely",
    "cordialement",
    "bien cordialement",
    "bien à vous",
    "salutations",
    "meilleures salutations",
    "merci",
    "mit freundlichen grüßen",
    "viele grüße",
    "saludos",
];

pub(super) fn is_closing(line: &str) -> bool {
    let lower = line.trim().trim_end_matches([',', '.', '!']).to_lowercase();
    CLOSINGS.contains(&lower.as_str())
}

/// Where the signature of an RFI body starts, if one is recognised.
pub(super) fn signature_start(lines: &[&str]) -> Option<usize> {
    if let Some(i) = lines.iter().position(|l| is_signature_start(l)) {
        return Some(i);
    }
    let last = lines.iter().rposition(|l| !l.trim().is_empty())?;
    let earliest = last.saturating_sub(MAX_SIGNATURE_LINES);
    (earliest..last).rev().find(|&i| is_closing(lines[i]))
}
