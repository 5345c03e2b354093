//! The new text of a reply: what the sender typed, without the quoted history
//! below it and without their signature.
//!
//! A contact's command is read from this text only, so the rule that matters
//! most is: *quoted text never survives*. The extractor works line by line
//! with small matching functions (no regexes, no backtracking) and looks ahead
//! at most a handful of lines, so it runs in linear time on any input.
//!
//! What it recognises:
//! - `>` quoted lines, and the attribution line that introduces them
//!   ("On … wrote:", "Le … a écrit :", "Am … schrieb", …). New text *below or
//!   between* `>` blocks (bottom-posted and inline replies) is kept.
//! - quote headers after which everything is history: an attribution that is
//!   not followed by `>` lines, Outlook "From:/Sent:" blocks in several
//!   languages, "-----Original Message-----" and its translations, and `____`
//!   separators in front of such blocks.
//! - signatures: a `-- ` line and the usual "Sent from my iPhone" lines.

use std::borrow::Cow;

mod signature;

use signature::{is_signature_start, signature_start};

/// The new text of a reply: quoted history and signature removed, lines
/// right-trimmed, CRLF turned into LF, the whole trimmed.
pub fn reply_text(body: &str) -> String {
    let normalized = normalize_newlines(body);
    let lines: Vec<&str> = normalized.lines().map(str::trim_end).collect();
    let kept = new_text_lines(&lines);
    join_trimmed(&kept)
}

/// Splits a body into (text, signature) on a best-effort basis: a `-- `
/// delimiter, a mobile "Sent from" line, or a closing ("Regards,",
/// "Cordialement,", …) followed by a short block of at most
/// [`MAX_SIGNATURE_LINES`] lines. The signature keeps its closing line,
/// because the name, company and phone under it are what callers look for.
pub fn strip_signature(text: &str) -> (String, Option<String>) {
    let normalized = normalize_newlines(text);
    let lines: Vec<&str> = normalized.lines().map(str::trim_end).collect();
    match signature_start(&lines) {
        Some(start) => {
            let body = join_trimmed(&lines[..start]);
            let signature = join_trimmed(&lines[start..]);
            let signature = (!signature.is_empty()).then_some(signature);
            (body, signature)
        }
        None => (join_trimmed(&lines), None),
    }
}

/// A signature block after a closing is at most this many lines long;
/// anything longer is more likely a letter that happens to say "Best,".
pub const MAX_SIGNATURE_LINES: usize = 8;

/// How far (in lines) a multi-line quote header may reach.
const HEADER_BLOCK_REACH: usize = 7;

// ---------------------------------------------------------------------------
// The line walk

/// Walks the lines once and keeps those that are new text.
fn new_text_lines<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let mut kept = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_quoted(line) || is_broken_quote_line(lines, i) {
            i = skip_blank_lines(lines, i + 1);
            continue;
        }
        let inline_prefix = text_before_inline_attribution(line);
        let attribution = match inline_prefix {
            Some(prefix) => {
                // "reply On Wed, … wrote:" on one line: keep the part before.
                kept.push(prefix);
                Some(1)
            }
            None => attribution_at(lines, i),
        };
        if let Some(len) = attribution {
            // "On … wrote:" directly followed by `>` lines only introduces a
            // quote: skip it and go on reading (inline / bottom-posted reply).
            // Followed by anything else, the history is not marked: stop.
            if next_non_blank(lines, i + len).is_none_or(|j| is_quoted(lines[j])) {
                i = skip_blank_lines(lines, i + len);
                continue;
            }
            break;
        }
        if is_forward_marker(line) {
            // A forwarded message is content the sender wants read (a staff
            // referrer forwarding a customer's request): keep all of it.
            kept.extend_from_slice(&lines[i..]);
            break;
        }
        if starts_quoted_history(lines, i) || is_signature_start(line) {
            break;
        }
        kept.push(line);
        i += 1;
    }
    kept
}

/// Blank lines after a removed quote or attribution go with it, so that
/// "text / quote / text" reads as the two texts with the spacing above.
fn skip_blank_lines(lines: &[&str], from: usize) -> usize {
    next_non_blank(lines, from).unwrap_or(lines.len())
}

/// A quoted line whose long link was wrapped by the sender's client leaves a
/// piece without `>` between two quoted lines: "> View (http://x/a" then
/// "_nonce=3dd)" then ">". Such a piece is quoted too. A real inline answer
/// between two quotes does not continue an open bracket.
fn is_broken_quote_line(lines: &[&str], i: usize) -> bool {
    let (Some(prev), Some(next)) = (i.checked_sub(1).map(|p| lines[p]), lines.get(i + 1)) else {
        return false;
    };
    if !(is_quoted(prev) && is_quoted(next)) {
        return false;
    }
    let opens = |l: &str, o: char, c: char| l.matches(o).count() > l.matches(c).count();
    let prev_open = opens(prev, '(', ')') || opens(prev, '<', '>');
    prev_open || lines[i].trim_end().ends_with(" >")
}

/// The history starts here and runs to the end of the message.
fn starts_quoted_history(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    if is_original_message_separator(line) {
        return true;
    }
    if is_header_block_at(lines, i) {
        return true;
    }
    // A "____" or "-----" rule directly above a header block.
    if is_rule(line) {
        return next_non_blank(lines, i + 1)
            .is_some_and(|j| j <= i + 2 && is_header_block_at(lines, j));
    }
    false
}

// ---------------------------------------------------------------------------
// Quoted lines

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn next_non_blank(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&j| !lines[j].trim().is_empty())
}

// ---------------------------------------------------------------------------
// Attribution lines: "On <date>, <name> wrote:" and translations

/// Words that end an attribution, just before the final colon.
const WROTE_MARKERS: &[&str] = &[
    "wrote",
    "writes",
    "sent",
    "a écrit",
    "a ecrit",
    "schrieb",
    "geschrieben",
    "escribió",
    "escribio",
    "schreef",
    "geschreven",
    "ha scritto",
    "scrisse",
    "escreveu",
    "napisał",
    "napisała",
    "napisał(a)",
    "pisze",
    "skrev",
    "skrev følgende",
    "kirjoitti",
    "пишет",
    "написал",
    "написала",
    "написал(а)",
    "написав",
    "đã viết",
    "写道",
    "寫道",
];

/// Words an attribution starts with, in the languages of the corpus.
const INTRO_WORDS: &[&str] = &[
    "On",
    "Le",
    "Am",
    "El",
    "Op",
    "Il",
    "Em",
    "W dniu",
    "Dnia",
    "Den",
    "På",
    "Vào",
    "At",
    "Dne",
    "Pada",
    "Il giorno",
];

/// How many lines an attribution may span, blank lines included (Polymail
/// and some webmails break "On <date> <name>\n\n<\nmailto:…>\n> wrote:").
const ATTRIBUTION_REACH: usize = 6;

/// If an attribution starts at line `i`, its length in lines.
///
/// One line may be an attribution on its own; a longer window must start
/// with something only an attribution starts with (an intro word such as
/// "On"/"Le"/"Am", a date, or "<name> schrieb am"), so that ordinary text
/// followed by an attribution line is never swallowed.
fn attribution_at(lines: &[&str], i: usize) -> Option<usize> {
    let first = lines[i].trim();
    if first.is_empty() {
        return None;
    }
    let intro = starts_with_intro_word(first);
    let date_led = starts_with_date(first);
    // Blank lines inside the window only for a dated intro line.
    let blanks_allowed = intro && first.chars().any(|c| c.is_ascii_digit());
    let may_span = intro || date_led || first.contains(" schrieb am ");
    let mut joined = String::new();
    for len in 1..=ATTRIBUTION_REACH {
        let Some(line) = lines.get(i + len - 1) else {
            break;
        };
        let line = line.trim();
        if line.is_empty() {
            if blanks_allowed {
                continue;
            }
            break;
        }
        // A continuation may be quoted only when it is a short tail: ">:"
        // or "> wrote:".
        const MAX_QUOTED_TAIL: usize = 12;
        if len > 1 && is_quoted(line) && line.len() > MAX_QUOTED_TAIL {
            break;
        }
        if len > 1 && !may_span {
            break;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line);
        if is_attribution_text(&joined, intro) || (date_led && is_dated_header(&joined)) {
            return Some(len);
        }
        if !blanks_allowed && len >= 3 {
            break;
        }
    }
    None
}

fn starts_with_intro_word(line: &str) -> bool {
    let line = line.trim_start_matches(['-', ' ']);
    INTRO_WORDS.iter().any(|w| {
        line.strip_prefix(w)
            .is_some_and(|rest| rest.starts_with([' ', ',']))
    })
}

/// Whether a (joined) candidate reads like "On <date>, <who> wrote:".
fn is_attribution_text(text: &str, intro: bool) -> bool {
    const MAX_ATTRIBUTION_CHARS: usize = 400;
    if text.len() > MAX_ATTRIBUTION_CHARS {
        return false;
    }
    let framed = text.starts_with("--") && text.ends_with("--");
    // "---- John Smith wrote ----" (Android) and "---On … wrote-----".
    let text = text.trim_matches(|c: char| c == '-' || c.is_whitespace());
    let (head, has_colon) = match text.strip_suffix(':').or_else(|| text.strip_suffix('：')) {
        Some(head) => (head.trim_end(), true),
        None => (text, false),
    };
    let colonless_android = framed && ends_with_wrote_word(head);
    if !(has_colon || colonless_android) {
        return false;
    }
    let has_digit = head.chars().any(|c| c.is_ascii_digit());
    let ends_with_marker = WROTE_MARKERS.iter().any(|m| ends_with_word(head, m));
    // "Am <date> schrieb <name>:", "Op <date> schreef <name>:", "Den <date>
    // skrev <name>:": the verb in the middle, only trusted with intro + date.
    let inner_marker = has_digit
        && (intro || head.contains(" schrieb am "))
        && WROTE_MARKERS
            .iter()
            .any(|m| contains_word(head, m) && m.len() > 3);
    if !(ends_with_marker || inner_marker) {
        return false;
    }
    // Without an intro word, insist on something an attribution carries (an
    // address or a date) so that "I wrote this one:" stays text.
    intro || framed || head.contains('@') || has_digit
}

/// `text` contains `word` delimited by non-alphanumeric characters.
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before_ok = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after_ok = text[at + word.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        before_ok && after_ok
    })
}

// ---------------------------------------------------------------------------
// Date-led attributions: "2014-10-17 11:28 GMT+03:00 Postmaster <…>:",
// "20 окт. 2016 г. 19:37 пользователь "X" <", "Thu, 26 Jun 2014 14:00 от X:"

/// English weekday abbreviations some webmails put before the date.
const WEEKDAYS: &[&str] = &["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"];

/// The line opens with a date: a digit-led token, after an optional weekday.
fn starts_with_date(line: &str) -> bool {
    let line = line.trim_start();
    let line = WEEKDAYS
        .iter()
        .find_map(|w| line.strip_prefix(w))
        .unwrap_or(line)
        .trim_start();
    (line.starts_with(|c: char| c.is_ascii_digit()) && has_clock_time(line))
        || line.split_whitespace().next().is_some_and(is_numeric_date)
}

/// "2011/4/7", "26.06.2014,", "2014-10-17".
fn is_numeric_date(token: &str) -> bool {
    let token = token.trim_end_matches(',');
    let groups: Vec<&str> = token.split(['/', '.', '-']).collect();
    groups.len() == 3
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.len() <= 4 && g.bytes().all(|b| b.is_ascii_digit()))
}

/// Contains a time of day such as "14:20" or "3:18".
fn has_clock_time(text: &str) -> bool {
    text.split_whitespace().take(8).any(|token| {
        let token = token.trim_end_matches(',');
        token.split_once(':').is_some_and(|(h, m)| {
            (1..=2).contains(&h.len())
                && h.bytes().all(|b| b.is_ascii_digit())
                && m.len() >= 2
                && m.bytes().take(2).all(|b| b.is_ascii_digit())
        })
    })
}

/// A date-led line that names a sender: an address, or a closing `:`/`<`,
/// or a few words after a time with its zone ("2016-03-03 17:21 GMT+01:00
/// Some One"). A dated note such as "12/03/2025 14:00 call booked" has no
/// zone and stays text.
fn is_dated_header(text: &str) -> bool {
    const MAX_DATED_HEADER_CHARS: usize = 200;
    const MAX_WORDS: usize = 8;
    if text.len() > MAX_DATED_HEADER_CHARS {
        return false;
    }
    let text = text.trim_end();
    let names_address = text.contains('@') || text.ends_with('<');
    let closes = text.ends_with(':') || text.ends_with('>') || text.ends_with('<');
    let short = text.split_whitespace().count() <= MAX_WORDS && !text.ends_with('.');
    (names_address && closes) || (short && has_clock_time(text) && has_time_zone(text))
}

/// "GMT", "UTC" or a numeric offset such as "+0300".
fn has_time_zone(text: &str) -> bool {
    text.contains("GMT")
        || text.contains("UTC")
        || text.split_whitespace().any(|t| {
            let digits = t.strip_prefix(['+', '-']).unwrap_or("");
            digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit())
        })
}

/// An attribution without a colon: "---- John wrote ----" after trimming.
fn ends_with_wrote_word(text: &str) -> bool {
    ends_with_word(text, "wrote")
}

/// `text` ends with `word`, and `word` is not the tail of a longer word.
fn ends_with_word(text: &str, word: &str) -> bool {
    let Some(before) = text.strip_suffix(word) else {
        return false;
    };
    before.is_empty() || before.ends_with(|c: char| !c.is_alphanumeric())
}

/// "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:" — new text
/// and attribution sharing one line. Returns the new text before it.
fn text_before_inline_attribution(line: &str) -> Option<&str> {
    let trimmed = line.trim_end();
    if !(trimmed.ends_with("wrote:") || trimmed.ends_with("a écrit :")) {
        return None;
    }
    for (pos, _) in trimmed
        .match_indices(" On ")
        .chain(trimmed.match_indices("-On "))
    {
        let candidate = &trimmed[pos + 1..];
        if is_attribution_text(candidate, true) && candidate.chars().any(|c| c.is_ascii_digit()) {
            let before = trimmed[..pos + 1].trim_end_matches(['-', ' ']);
            if !before.trim().is_empty() {
                return Some(before);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Outlook-style header blocks: "From: … / Sent: … / To: … / Subject: …"

/// Header labels of a quoted message, as mail clients print them.
const FROM_LABELS: &[&str] = &[
    "From",
    "De",
    "Von",
    "Van",
    "Da",
    "Od",
    "Fra",
    "Från",
    "От",
    "Lähettäjä",
    "Feladó",
    "Från",
    "Remitente",
    "Mittente",
    "Afzender",
    "Expéditeur",
];
const OTHER_LABELS: &[&str] = &[
    "Sent",
    "Date",
    "To",
    "Subject",
    "Cc",
    "Reply-To",
    "Envoyé",
    "À",
    "A",
    "Objet",
    "Gesendet",
    "Datum",
    "An",
    "Betreff",
    "Verzonden",
    "Aan",
    "Onderwerp",
    "Inviato",
    "Oggetto",
    "Data",
    "Enviado",
    "Enviada",
    "Para",
    "Assunto",
    "Asunto",
    "Fecha",
    "Wysłano",
    "Do",
    "Temat",
    "Sendt",
    "Til",
    "Emne",
    "Skickat",
    "Till",
    "Ämne",
    "Отправлено",
    "Кому",
    "Тема",
    "Дата",
    "Lähetetty",
    "Vastaanottaja",
    "Aihe",
    "Kopie",
    "Cci",
    "Envoyé le",
];

/// Label of a header-looking line ("From: x", "De : x", "*From:* x").
fn header_label(line: &str) -> Option<&str> {
    let line = line.trim_start().trim_start_matches('*');
    let colon = line.find(':')?;
    let label = line[..colon].trim_end();
    const MAX_LABEL_CHARS: usize = 24;
    if label.is_empty() || label.len() > MAX_LABEL_CHARS {
        return None;
    }
    Some(label)
}

fn is_from_label(label: &str) -> bool {
    FROM_LABELS.iter().any(|l| l.eq_ignore_ascii_case(label))
}

fn is_known_label(label: &str) -> bool {
    is_from_label(label) || OTHER_LABELS.iter().any(|l| l.eq_ignore_ascii_case(label))
}

/// Line `i` opens a quoted message's header block: it is a From or Date
/// line and at least one more header line follows within a few lines.
fn is_header_block_at(lines: &[&str], i: usize) -> bool {
    let Some(label) = header_label(lines[i]) else {
        return false;
    };
    let opens = is_from_label(label) || label.eq_ignore_ascii_case("Date");
    if !opens {
        return false;
    }
    let end = (i + HEADER_BLOCK_REACH).min(lines.len());
    lines[i + 1..end]
        .iter()
        .filter_map(|l| header_label(l))
        .any(|l| is_known_label(l) && !l.eq_ignore_ascii_case(label))
}

/// "---------- Forwarded message ----------", "Begin forwarded message:"…
/// The whole line must be the marker, so that a sentence mentioning "the
/// forwarded message" does not switch off quote removal.
fn is_forward_marker(line: &str) -> bool {
    const FORWARD_TITLES: &[&str] = &[
        "forwarded message",
        "begin forwarded message",
        "message transféré",
        "début du message réexpédié",
        "weitergeleitete nachricht",
        "mensaje reenviado",
        "messaggio inoltrato",
        "doorgestuurd bericht",
    ];
    let inner = line
        .trim()
        .trim_matches(|c: char| c == '-' || c == '*' || c == ':' || c.is_whitespace())
        .to_lowercase();
    FORWARD_TITLES.contains(&inner.as_str())
}

// ---------------------------------------------------------------------------
// Separators

/// "-----Original Message-----" and its translations.
fn is_original_message_separator(line: &str) -> bool {
    let trimmed = line.trim().trim_matches('*');
    if !(trimmed.starts_with("--") || trimmed.starts_with("__") || trimmed.starts_with("==")) {
        return false;
    }
    let inner = trimmed
        .trim_matches(|c: char| c == '-' || c == '_' || c == '=' || c.is_whitespace())
        .to_lowercase();
    const SEPARATOR_TITLES: &[&str] = &[
        "original message",
        "reply message",
        "message d'origine",
        "message d’origine",
        "ursprüngliche nachricht",
        "originalnachricht",
        "antwort nachricht",
        "oprindelig meddelelse",
        "opprinnelig melding",
        "ursprungligt meddelande",
        "mensaje original",
        "messaggio originale",
        "mensagem original",
        "oorspronkelijk bericht",
        "oryginalna wiadomość",
        "wiadomość oryginalna",
        "alkuperäinen viesti",
        "исходное сообщение",
        "original-nachricht",
    ];
    SEPARATOR_TITLES.iter().any(|t| inner == *t)
}

/// A horizontal rule made of `_` or `-` (at least five).
fn is_rule(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.len() >= 5 && (trimmed.chars().all(|c| c == '_') || trimmed.chars().all(|c| c == '-'))
}

// ---------------------------------------------------------------------------
// Text helpers

/// CRLF and lone CR as LF; text that has neither is not copied.
fn normalize_newlines(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Joins lines with LF and trims blank lines and spaces at both ends, and
/// the invisible tracking marks some clients append (Gmail's "ᐧ").
fn join_trimmed(lines: &[&str]) -> String {
    let joined = lines.join("\n");
    joined
        .trim_matches(|c: char| c.is_whitespace() || INVISIBLE_MARKS.contains(&c))
        .to_string()
}

const INVISIBLE_MARKS: &[char] = &['\u{1427}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{feff}'];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_posted_gmail_reply_keeps_only_the_new_text() {
        let body = "ACCEPT\nDeal: Big one\n\nOn Mon, 3 Mar 2025 at 10:00, Leadbot <leads@x.test> wrote:\n> DECLINE\n> old";
        assert_eq!(reply_text(body), "ACCEPT\nDeal: Big one");
    }

    #[test]
    fn quoted_command_never_survives() {
        let body = "> ACCEPT\n> Deal: x";
        assert_eq!(reply_text(body), "");
    }

    #[test]
    fn inline_reply_keeps_text_between_quotes() {
        let body = "On Mon, Mar 3, 2025, Bot <b@x.test> wrote:\n> Question one?\nAnswer one\n> Question two?\nAnswer two\n";
        assert_eq!(reply_text(body), "Answer one\nAnswer two");
    }

    #[test]
    fn wrapped_attribution_over_three_lines_is_removed() {
        let body = "Ok\n\nOn Nov 30, 2011, at 12:47 PM, Somebody <\nabc@somebody.example>\nwrote:\n\nQuoted";
        assert_eq!(reply_text(body), "Ok");
    }

    #[test]
    fn french_outlook_block_cuts_history() {
        let body = "DECLINE\nRaison : pas le temps\n\nDe : Leadbot <leads@x.test>\nEnvoyé : lundi 3 mars 2025 10:00\nÀ : Alice\nObjet : [L-12] Nouveau lead\n\nACCEPT";
        assert_eq!(reply_text(body), "DECLINE\nRaison : pas le temps");
    }

    #[test]
    fn french_attribution_cuts_history() {
        let body = "WON\r\n\r\nLe lun. 3 mars 2025 à 10:00, Leadbot <leads@x.test> a écrit :\r\nACCEPT\r\n";
        assert_eq!(reply_text(body), "WON");
    }

    #[test]
    fn signature_and_mobile_lines_are_dropped() {
        assert_eq!(reply_text("LOST\n-- \nAlice\n+33 1"), "LOST");
        assert_eq!(reply_text("ACCEPT\n\nEnvoyé de mon iPhone"), "ACCEPT");
        assert_eq!(
            reply_text("Fine\n\nSent from my desk, is much easier."),
            "Fine\n\nSent from my desk, is much easier."
        );
    }

    #[test]
    fn forwarded_message_is_kept() {
        let body = "FYI\n\n---------- Forwarded message ----------\nFrom: bob@example.com\nDate: Tue, Sep 4, 2012\nTo: rob@example.com\n\nText";
        assert_eq!(reply_text(body), body);
    }

    #[test]
    fn a_line_starting_with_on_is_not_a_header() {
        assert_eq!(
            reply_text("On Monday I can call.\nACCEPT"),
            "On Monday I can call.\nACCEPT"
        );
    }

    #[test]
    fn strip_signature_splits_on_a_closing() {
        let (text, sig) = strip_signature(
            "Hello,\nWe need Azure help.\n\nCordialement,\nJean Dupont\nACME SA\n+33 1 02 03 04 05",
        );
        assert_eq!(text, "Hello,\nWe need Azure help.");
        assert_eq!(
            sig.as_deref(),
            Some("Cordialement,\nJean Dupont\nACME SA\n+33 1 02 03 04 05")
        );
    }

    #[test]
    fn strip_signature_without_signature_returns_the_text() {
        assert_eq!(
            strip_signature("Just text\n"),
            ("Just text".to_string(), None)
        );
    }
}
