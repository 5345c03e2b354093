//! A forwarded request (from staff or from another partner): the customer is the
//! original sender in the forwarded block; the forwarder's own lines may say "Lead type: …"
//! and, from staff, carry a note for the partner.

use super::{
    Field, FieldLine, Rfi, RfiError, Said, Sender, Shape, extract_address, from_form, is_form,
    lead_type, normalize_label, read_fields, request_kind, split_signature,
};
use crate::mail::parse::Mailbox;
use crate::mail::reply::strip_signature;

/// Where a forwarded block starts: the marker line and the header block after it.
pub(super) struct Forward {
    marker_line: usize,
}

pub(super) fn find(text: &str) -> Option<Forward> {
    text.lines()
        .enumerate()
        .find(|(_, line)| is_forward_marker(line))
        .map(|(marker_line, _)| Forward { marker_line })
}

fn is_forward_marker(line: &str) -> bool {
    let folded = normalize_label(line.trim().trim_matches(|c| c == '-' || c == ' '));
    matches!(
        folded.as_str(),
        "forwarded message"
            | "message transfere"
            | "original message"
            | "message d'origine"
            | "begin forwarded message"
            | "debut du message reexpedie"
            | "message reexpedie"
    ) || (line.trim_start().starts_with("________") && line.trim().len() >= 8)
}

pub(super) fn read(text: &str, forward: Forward, sender: Sender) -> Result<Rfi, RfiError> {
    let lines: Vec<&str> = text.lines().collect();
    let own_text = lines[..forward.marker_line].join("\n");
    let own_fields = read_fields(&own_text);
    let mut customer_line = None;
    let mut body_start = lines.len();
    for (i, line) in lines.iter().enumerate().skip(forward.marker_line + 1) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if customer_line.is_some() {
                body_start = i + 1;
                break;
            }
            continue;
        }
        if let Some((label, value)) = trimmed.split_once(':') {
            let label = normalize_label(label);
            if customer_line.is_none() && (label == "from" || label == "de") {
                customer_line = Some(value.trim().to_string());
            }
        }
    }
    let from = customer_line
        .as_deref()
        .and_then(parse_mailbox)
        .ok_or(RfiError::ForwardWithoutCustomer)?;
    let forwarded_body: String = lines
        .get(body_start..)
        .unwrap_or_default()
        .iter()
        .map(|l| {
            l.strip_prefix("> ")
                .or_else(|| l.strip_prefix('>'))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let forwarded_fields = read_fields(&forwarded_body);
    if is_form(&forwarded_fields) {
        // A forwarded form: the form names the customer; the forwarder is the referrer.
        let mut rfi = from_form(&forwarded_fields, &forwarded_body)?;
        rfi.shape = Shape::Forward;
        if sender == Sender::Staff {
            rfi.kind = lead_type(&own_fields);
            rfi.note = forwarder_note(&own_text, &own_fields);
        }
        return Ok(rfi);
    }
    let (body, signature) = split_signature(&forwarded_body);
    let mut need = body.trim().to_string();
    let note = forwarder_note(&own_text, &own_fields);
    if need.is_empty() {
        need = strip_signature(&own_text).0.trim().to_string();
    }
    if need.is_empty() {
        return Err(RfiError::EmptyNeed);
    }
    let all_fields: Vec<FieldLine> = own_fields.into_iter().chain(forwarded_fields).collect();
    let said = Said::read(
        &need,
        signature.as_deref(),
        from.name.as_deref(),
        &all_fields,
    );
    let kind = request_kind(sender, &all_fields);
    let note = (sender == Sender::Staff).then_some(note).flatten();
    Ok(said.into_rfi(Some(from.email), need, kind, Shape::Forward, note))
}

/// The forwarder's own words above the forwarded block, without field lines ("Lead
/// type: …", "Country: …", read into the lead's fields) and signature: `None` when
/// nothing is left.
fn forwarder_note(own_text: &str, own_fields: &[FieldLine]) -> Option<String> {
    let (text, _signature) = strip_signature(own_text);
    let lines: Vec<&str> = text.lines().collect();
    let kept: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            !own_fields
                .iter()
                .any(|f| f.line == *i && !carries_a_note(f))
        })
        .map(|(_, line)| line.trim_end())
        .collect();
    let note = kept.join("\n").trim().to_string();
    (!note.is_empty()).then_some(note)
}

/// `Name <a@b>`, `"Name" <a@b>`, `Name [mailto:a@b]`, `a@b`.
fn parse_mailbox(text: &str) -> Option<Mailbox> {
    let email = extract_address(text)?;
    let name = text
        .split(['<', '['])
        .next()
        .map(|n| n.trim().trim_matches('"').trim().to_string())
        .filter(|n| !n.is_empty() && !n.contains('@'));
    Some(Mailbox { name, email })
}

/// A "Sales qualified: …" line is the note itself; a "Lead type: …" line is not.
fn carries_a_note(field: &FieldLine) -> bool {
    field.field == Field::LeadType
        && (field.label.ends_with("qualified") || field.label.starts_with("qualifie"))
}
