//! Reading a request for information (RFI): who the customer is and what they need.
//!
//! Three shapes arrive:
//! - free-form mail from the customer: the sender is the customer, the need is the body
//!   without its signature, company and phone come from the signature;
//! - a form relay: `Field: value` lines (English or French) name the customer — never
//!   the relay that sent the mail;
//! - a forward (from staff or from another partner): the customer is the original sender
//!   in the forwarded block, and the forwarder's own lines may say "Lead type: …".
//!
//! Free-form text is read for what the customer says of themselves (company size,
//! country, a request to be called: [`facts`]) and the signature for who they are
//! ([`signature`]). Pure: the caller says whether the sender is staff or a partner contact.

mod facts;
mod forward;
mod signature;

use std::cell::LazyCell;

use serde::Serialize;

use super::lowercase::lowercase;
use super::parse::{InboundMail, Mailbox};
use super::patterns::single_spaced;
use super::reply::strip_signature;
use crate::domain::company_size::CompanySize;
use crate::domain::{Customer, LeadKind};

/// Who sent the RFI, as the caller determined it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// Anyone from outside: a customer or a web-form relay.
    Public,
    /// A staff member (configured staff domains): forwards become qualified leads.
    Staff,
    /// A contact of a partner passing a lead to another partner.
    PartnerContact,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rfi {
    pub customer: Customer,
    /// The country, spelled as profiles spell regions ("France", "United Kingdom").
    pub region: Option<String>,
    pub city: Option<String>,
    /// An employee count (`400`) or a range (`50-249`): see [`CompanySize`].
    pub company_size: Option<String>,
    pub need: String,
    /// "Contact me directly: yes", or "could you call me" in the text — the lead is hot
    /// for the hot window.
    pub contact_me_directly: bool,
    /// A staff forward's own words above the forwarded request ("Sales qualified: they
    /// have budget this quarter"), for the partner.
    pub note: Option<String>,
    pub kind: LeadKind,
    /// The language the customer wrote in, when it can be told ("en" or "fr").
    pub locale: Option<&'static str>,
    pub shape: Shape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    FreeForm,
    Form,
    Forward,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RfiError {
    #[error(
        "the forwarded message names no original sender (no From: line in the forwarded block)"
    )]
    ForwardWithoutCustomer,
    #[error("the request has no text: nothing says what the customer needs")]
    EmptyNeed,
    #[error("the form gives no way to reach the customer (no Email field)")]
    FormWithoutEmail,
}

/// The fields a form relay or a forwarder may write, by canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Company,
    Email,
    Phone,
    Region,
    City,
    CompanySize,
    ContactDirectly,
    Need,
    LeadType,
}

/// Labels as people write them, lower-cased and without accents.
const LABELS: &[(&str, Field)] = &[
    ("name", Field::Name),
    ("full name", Field::Name),
    ("contact name", Field::Name),
    ("nom", Field::Name),
    ("nom complet", Field::Name),
    ("company", Field::Company),
    ("company name", Field::Company),
    ("organization", Field::Company),
    ("organisation", Field::Company),
    ("societe", Field::Company),
    ("entreprise", Field::Company),
    ("email", Field::Email),
    ("e-mail", Field::Email),
    ("email address", Field::Email),
    ("adresse e-mail", Field::Email),
    ("courriel", Field::Email),
    ("phone", Field::Phone),
    ("phone number", Field::Phone),
    ("telephone", Field::Phone),
    ("tel", Field::Phone),
    ("mobile", Field::Phone),
    ("country", Field::Region),
    ("region", Field::Region),
    ("country/region", Field::Region),
    ("pays", Field::Region),
    ("pays/region", Field::Region),
    ("location", Field::City),
    ("city", Field::City),
    ("ville", Field::City),
    ("localisation", Field::City),
    ("company size", Field::CompanySize),
    ("taille de l'entreprise", Field::CompanySize),
    ("taille entreprise", Field::CompanySize),
    ("contact me directly", Field::ContactDirectly),
    ("me contacter directement", Field::ContactDirectly),
    ("need", Field::Need),
    ("besoin", Field::Need),
    ("request", Field::Need),
    ("demande", Field::Need),
    ("message", Field::Need),
    ("lead type", Field::LeadType),
    // "Sales qualified: I spoke with them yesterday…": the label says the type, the
    // rest is the referrer's note.
    ("sales qualified", Field::LeadType),
    ("marketing qualified", Field::LeadType),
    ("qualifie ventes", Field::LeadType),
    ("qualifie marketing", Field::LeadType),
    ("type de lead", Field::LeadType),
    ("type de piste", Field::LeadType),
];

/// Field labels in French, to tell the customer's language.
const FRENCH_LABELS: &[&str] = &[
    "nom",
    "nom complet",
    "societe",
    "entreprise",
    "courriel",
    "telephone",
    "pays",
    "ville",
    "taille de l'entreprise",
    "me contacter directement",
    "besoin",
    "demande",
];

pub fn extract(mail: &InboundMail, sender: Sender) -> Result<Rfi, RfiError> {
    let text = mail.text.replace("\r\n", "\n");
    if matches!(sender, Sender::Staff | Sender::PartnerContact)
        && let Some(forward) = forward::find(&text)
    {
        return forward::read(&text, forward, sender);
    }
    let fields = read_fields(&text);
    if is_form(&fields) {
        return from_form(&fields, &text);
    }
    from_free_form(mail, &text, sender)
}

/// `Label: value` lines found in a text, in order, with the index of the line.
struct FieldLine {
    field: Field,
    label: String,
    value: String,
    line: usize,
}

fn read_fields(text: &str) -> Vec<FieldLine> {
    text.lines()
        .enumerate()
        .filter_map(|(line, raw)| {
            let (label, value) = raw.split_once(':')?;
            let label = normalize_label(label);
            let field = LABELS.iter().find(|(l, _)| *l == label)?.1;
            Some(FieldLine {
                field,
                label,
                value: value.trim().to_string(),
                line,
            })
        })
        .collect()
}

fn normalize_label(label: &str) -> String {
    let folded: String = label
        .trim()
        .trim_start_matches(['*', '-', '•'])
        .trim_end_matches(['*', ' ', '\u{a0}'])
        .chars()
        .map(fold_accent)
        .collect::<String>()
        .to_lowercase()
        .replace('’', "'");
    single_spaced(&folded)
}

fn fold_accent(c: char) -> char {
    match c {
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' => 'e',
        'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
        'î' | 'ï' | 'Î' => 'i',
        'ô' | 'ö' | 'Ô' => 'o',
        'ù' | 'û' | 'ü' | 'Û' => 'u',
        'ç' | 'Ç' => 'c',
        other => other,
    }
}

fn value_of(fields: &[FieldLine], wanted: Field) -> Option<String> {
    fields
        .iter()
        .find(|f| f.field == wanted && !f.value.is_empty())
        .map(|f| f.value.clone())
}

/// A form names the customer: an email or name plus at least one other customer field.
fn is_form(fields: &[FieldLine]) -> bool {
    let customer_fields = fields
        .iter()
        .filter(|f| !matches!(f.field, Field::Need | Field::LeadType))
        .count();
    let names_someone = fields
        .iter()
        .any(|f| matches!(f.field, Field::Email | Field::Name));
    customer_fields >= 2 && names_someone
}

fn is_yes(value: &str) -> bool {
    matches!(
        normalize_label(value).as_str(),
        "yes" | "y" | "oui" | "true" | "x" | "[x]" | "1"
    )
}

fn from_form(fields: &[FieldLine], text: &str) -> Result<Rfi, RfiError> {
    let email = value_of(fields, Field::Email)
        .and_then(|e| extract_address(&e))
        .ok_or(RfiError::FormWithoutEmail)?;
    let need = need_from_fields(fields, text).ok_or(RfiError::EmptyNeed)?;
    let french = fields
        .iter()
        .any(|f| FRENCH_LABELS.contains(&f.label.as_str()));
    Ok(Rfi {
        customer: Customer {
            name: value_of(fields, Field::Name),
            email: Some(email),
            company: value_of(fields, Field::Company),
            phone: value_of(fields, Field::Phone),
        },
        region: value_of(fields, Field::Region).or_else(|| {
            value_of(fields, Field::Phone)
                .and_then(|p| facts::country_of_phone(&p))
                .map(String::from)
        }),
        city: value_of(fields, Field::City),
        company_size: value_of(fields, Field::CompanySize)
            .map(|v| stored_size(&v))
            .or_else(|| facts::company_size_in(&need)),
        contact_me_directly: value_of(fields, Field::ContactDirectly).is_some_and(|v| is_yes(&v))
            || facts::asks_for_a_call(&need),
        need,
        kind: LeadKind::CustomerInquiry,
        locale: Some(if french { "fr" } else { "en" }),
        shape: Shape::Form,
        note: None,
    })
}

/// The Need field's value plus the lines that continue it (until the next field or the
/// end); without a Need field, the text that is not field lines.
fn need_from_fields(fields: &[FieldLine], text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let field_lines: Vec<usize> = fields.iter().map(|f| f.line).collect();
    let need = match fields.iter().find(|f| f.field == Field::Need) {
        Some(need) => {
            let mut parts = vec![need.value.clone()];
            for (i, line) in lines.iter().enumerate().skip(need.line + 1) {
                if field_lines.contains(&i) {
                    break;
                }
                parts.push(line.trim_end().to_string());
            }
            parts.join("\n")
        }
        None => lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !field_lines.contains(i))
            .map(|(_, l)| l.trim_end())
            .collect::<Vec<_>>()
            .join("\n"),
    };
    let (need, _signature) = strip_signature(&need);
    let need = need.trim().to_string();
    (!need.is_empty()).then_some(need)
}

fn from_free_form(mail: &InboundMail, text: &str, sender: Sender) -> Result<Rfi, RfiError> {
    let (body, signature) = split_signature(text);
    let fields = read_fields(&body);
    let body = without_field_lines(&body, &fields);
    let from = mail.from.clone().unwrap_or(Mailbox {
        name: None,
        email: String::new(),
    });
    let need = body.trim().to_string();
    if need.is_empty() {
        return Err(RfiError::EmptyNeed);
    }
    let said = Said::read(&need, signature.as_deref(), from.name.as_deref(), &fields);
    let email = (!from.email.is_empty()).then_some(from.email.clone());
    let kind = request_kind(sender, &fields);
    Ok(said.into_rfi(email, need, kind, Shape::FreeForm, None))
}

/// A staff member's forward says what kind of qualified lead it is; anyone else's
/// request is a customer inquiry.
fn request_kind(sender: Sender, fields: &[FieldLine]) -> LeadKind {
    match sender {
        Sender::Staff => lead_type(fields),
        _ => LeadKind::CustomerInquiry,
    }
}

/// What a free-form request says of its sender, field lines first ("Country: France"),
/// then the customer's words, then the signature, then the phone's calling code.
struct Said {
    person: Option<String>,
    company: Option<String>,
    phone: Option<String>,
    region: Option<String>,
    city: Option<String>,
    company_size: Option<String>,
    call_requested: bool,
}

impl Said {
    /// The request, with what was said of its sender.
    fn into_rfi(
        self,
        email: Option<String>,
        need: String,
        kind: LeadKind,
        shape: Shape,
        note: Option<String>,
    ) -> Rfi {
        Rfi {
            customer: Customer {
                name: self.person,
                email,
                company: self.company,
                phone: self.phone,
            },
            region: self.region,
            city: self.city,
            company_size: self.company_size,
            contact_me_directly: self.call_requested,
            locale: Some(guess_locale(&need)),
            need,
            kind,
            shape,
            note,
        }
    }

    fn read(
        need: &str,
        signature: Option<&str>,
        sender_name: Option<&str>,
        fields: &[FieldLine],
    ) -> Self {
        let signed = signature
            .map(|s| signature::read(s, sender_name))
            .unwrap_or_default();
        let sender_name = sender_name.map(str::trim).filter(|n| !n.is_empty());
        // The display name is the person unless it is the company's or not a name at
        // all ("Grand Groupe", "chloe.dubois"), and the signature names the person.
        let display_is_person = sender_name.is_some_and(|n| {
            signature::looks_like_person(n) && signed.company.as_deref() != Some(n)
        });
        let person = if display_is_person {
            sender_name.map(String::from)
        } else {
            signed.person.clone().or(sender_name.map(String::from))
        };
        // Two readers want the need lower-cased; one copy serves both, made only if
        // a field does not answer first.
        let lower_need = LazyCell::new(|| need.to_lowercase());
        let company = value_of(fields, Field::Company).or(signed.company);
        let phone = value_of(fields, Field::Phone).or(signed.phone);
        let region = value_of(fields, Field::Region)
            .or_else(|| facts::country_in_lowered(&lower_need).map(String::from))
            .or_else(|| signed.country.map(String::from))
            .or_else(|| {
                phone
                    .as_deref()
                    .and_then(facts::country_of_phone)
                    .map(String::from)
            });
        let company_size = value_of(fields, Field::CompanySize)
            .map(|v| stored_size(&v))
            .or_else(|| facts::company_size_in(need))
            .or_else(|| signature.and_then(facts::company_size_in));
        Self {
            person: person.filter(|p| company.as_deref() != Some(p.as_str())),
            company,
            phone,
            region,
            city: value_of(fields, Field::City).or(signed.city),
            company_size,
            call_requested: value_of(fields, Field::ContactDirectly).is_some_and(|v| is_yes(&v))
                || facts::asks_for_a_call_lowered(&lower_need),
        }
    }
}

/// A form's size as stored: a count or range in the canonical form, else as written.
fn stored_size(value: &str) -> String {
    CompanySize::parse(value).map_or_else(|| value.trim().to_string(), |s| s.to_string())
}

/// Strips signatures until none is left: "Sent from my iPhone" under "Regards, Ann" is
/// two blocks, and the company and phone are in the upper one.
fn split_signature(text: &str) -> (String, Option<String>) {
    let mut body = text.to_string();
    let mut blocks = Vec::new();
    for _ in 0..3 {
        let (rest, signature) = strip_signature(&body);
        let Some(signature) = signature else { break };
        blocks.insert(0, signature);
        body = rest;
    }
    let signature = (!blocks.is_empty()).then(|| blocks.join("\n"));
    (body, signature)
}

/// Free-form mail may carry a few field lines ("Country: France"); they are read into
/// the lead's fields, so the need keeps only the customer's own words.
fn without_field_lines(body: &str, fields: &[FieldLine]) -> String {
    let field_lines: Vec<usize> = fields
        .iter()
        .filter(|f| !matches!(f.field, Field::Need))
        .map(|f| f.line)
        .collect();
    body.lines()
        .enumerate()
        .filter(|(i, _)| !field_lines.contains(i))
        .map(|(_, line)| line)
        .collect::<Vec<_>>()
        .join("\n")
}

fn lead_type(fields: &[FieldLine]) -> LeadKind {
    let said = fields
        .iter()
        .find(|f| f.field == Field::LeadType)
        .map(|f| format!("{} {}", f.label, normalize_label(&f.value)));
    match said {
        Some(v) if v.contains("sales") || v.contains("vente") || v.contains("commercial") => {
            LeadKind::SalesQualified
        }
        _ => LeadKind::MarketingQualified,
    }
}

/// The first thing that looks like an address inside a text.
fn extract_address(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || "<>[]()\"',;".contains(c))
        .map(|w| w.trim_start_matches("mailto:"))
        .find(|w| crate::domain::EmailAddress::parse(w).is_ok())
        .map(str::to_lowercase)
}

/// French or English, from a few very common words; English when unsure.
pub fn guess_locale(text: &str) -> &'static str {
    const FRENCH: &[&str] = &[
        "bonjour",
        "je",
        "nous",
        "vous",
        "pour",
        "notre",
        "une",
        "des",
        "avec",
        "besoin",
        "merci",
        "cordialement",
        "est",
        "sur",
        "les",
        "et",
    ];
    const ENGLISH: &[&str] = &[
        "hello", "hi", "i", "we", "you", "for", "our", "a", "the", "with", "need", "thanks",
        "regards", "is", "on", "and",
    ];
    let (mut french, mut english) = (0, 0);
    for word in text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .take(400)
    {
        let word = lowercase(word);
        french += usize::from(FRENCH.contains(&word.as_ref()));
        english += usize::from(ENGLISH.contains(&word.as_ref()));
    }
    if french > english { "fr" } else { "en" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse;

    fn mail(from: &str, body: &str) -> InboundMail {
        let raw = format!(
            "From: {from}\r\nTo: contoso-fr@leads.example.test\r\nSubject: Demande\r\n\
             Message-ID: <x@client.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        );
        parse(raw.as_bytes()).expect("test message parses")
    }

    #[test]
    fn free_form_mail_takes_the_customer_from_the_sender_and_signature() {
        let rfi = extract(
            &mail(
                "Chloé Dubois <Chloe@Client.test>",
                "Bonjour,\n\nNous voulons migrer 200 boîtes mail vers Teams.\n\n\
                 Cordialement,\nChloé Dubois\nFabrikam SA\n+33 1 02 03 04 05\n",
            ),
            Sender::Public,
        )
        .unwrap();
        assert_eq!(rfi.customer.name.as_deref(), Some("Chloé Dubois"));
        assert_eq!(rfi.customer.email.as_deref(), Some("chloe@client.test"));
        assert_eq!(rfi.customer.company.as_deref(), Some("Fabrikam SA"));
        assert_eq!(rfi.customer.phone.as_deref(), Some("+33 1 02 03 04 05"));
        assert_eq!(
            rfi.need,
            "Bonjour,\n\nNous voulons migrer 200 boîtes mail vers Teams."
        );
        assert_eq!(rfi.locale, Some("fr"));
        assert_eq!(rfi.shape, Shape::FreeForm);
        assert!(!rfi.contact_me_directly);
    }

    #[test]
    fn a_form_relay_names_the_customer_not_the_relay() {
        let rfi = extract(
            &mail(
                "Web forms <noreply@forms.example.test>",
                "Nom : Jean Roy\nSociété : Roy & Fils\nE-mail : jean@roy.test\n\
                 Téléphone : +33 6 12 34 56 78\nPays/Région : France\nVille : Lyon\n\
                 Taille de l'entreprise : 50-249\nMe contacter directement : Oui\n\
                 Besoin : Migration Azure\nde nos 40 serveurs.\n",
            ),
            Sender::Public,
        )
        .unwrap();
        assert_eq!(rfi.customer.name.as_deref(), Some("Jean Roy"));
        assert_eq!(rfi.customer.email.as_deref(), Some("jean@roy.test"));
        assert_eq!(rfi.customer.company.as_deref(), Some("Roy & Fils"));
        assert_eq!(rfi.region.as_deref(), Some("France"));
        assert_eq!(rfi.city.as_deref(), Some("Lyon"));
        assert_eq!(rfi.company_size.as_deref(), Some("50-249"));
        assert!(rfi.contact_me_directly);
        assert_eq!(rfi.need, "Migration Azure\nde nos 40 serveurs.");
        assert_eq!(rfi.locale, Some("fr"));
        assert_eq!(rfi.shape, Shape::Form);
    }

    #[test]
    fn an_english_form_reads_the_same_fields() {
        let rfi = extract(
            &mail(
                "forms@relay.test",
                "Name: Ann Lee\nCompany: Lee Ltd\nEmail: ann@lee.test\nCountry: Ireland\n\
                 Company size: 1-49\nContact me directly: no\nNeed: Dynamics CRM rollout\n",
            ),
            Sender::Public,
        )
        .unwrap();
        assert_eq!(rfi.customer.email.as_deref(), Some("ann@lee.test"));
        assert_eq!(rfi.region.as_deref(), Some("Ireland"));
        assert!(!rfi.contact_me_directly);
        assert_eq!(rfi.need, "Dynamics CRM rollout");
        assert_eq!(rfi.locale, Some("en"));
    }

    #[test]
    fn a_staff_forward_is_qualified_and_names_the_original_sender() {
        let rfi = extract(
            &mail(
                "Sam Staff <sam@microsoft.test>",
                "Lead type: Sales qualified\nHot prospect, please follow up.\n\n\
                 ---------- Forwarded message ---------\nFrom: Ann Lee <ann@lee.test>\n\
                 Date: Mon, 2 Nov 2026 at 09:00\nSubject: Help with Azure\n\
                 To: Sam Staff <sam@microsoft.test>\n\n\
                 We need help moving our ERP to Azure.\n\nThanks,\nAnn Lee\nLee Ltd\n",
            ),
            Sender::Staff,
        )
        .unwrap();
        assert_eq!(rfi.kind, LeadKind::SalesQualified);
        assert_eq!(rfi.customer.email.as_deref(), Some("ann@lee.test"));
        assert_eq!(rfi.customer.name.as_deref(), Some("Ann Lee"));
        assert_eq!(rfi.customer.company.as_deref(), Some("Lee Ltd"));
        assert_eq!(rfi.need, "We need help moving our ERP to Azure.");
        assert_eq!(rfi.shape, Shape::Forward);
    }

    #[test]
    fn staff_forwards_are_marketing_qualified_by_default_and_read_outlook_headers() {
        let rfi = extract(
            &mail(
                "sam@microsoft.test",
                "FYI\n\n-----Original Message-----\nFrom: Ann Lee [mailto:ann@lee.test]\n\
                 Sent: Monday, November 2, 2026 9:00 AM\nSubject: Teams\n\nTeams for 30 people.\n",
            ),
            Sender::Staff,
        )
        .unwrap();
        assert_eq!(rfi.kind, LeadKind::MarketingQualified);
        assert_eq!(rfi.customer.email.as_deref(), Some("ann@lee.test"));
        assert_eq!(rfi.need, "Teams for 30 people.");
    }

    #[test]
    fn a_french_forward_from_a_partner_contact_is_an_inquiry() {
        let rfi = extract(
            &mail(
                "bob@fabrikam.test",
                "Pour vous.\n\n-------- Message transféré --------\nDe : Jean Roy <jean@roy.test>\n\
                 Objet : Azure\n\nBonjour, nous cherchons un partenaire Azure.\n",
            ),
            Sender::PartnerContact,
        )
        .unwrap();
        assert_eq!(rfi.kind, LeadKind::CustomerInquiry);
        assert_eq!(rfi.customer.email.as_deref(), Some("jean@roy.test"));
        assert_eq!(rfi.locale, Some("fr"));
    }

    #[test]
    fn a_forward_without_an_original_sender_is_refused() {
        let error = extract(
            &mail(
                "sam@microsoft.test",
                "see below\n\n---------- Forwarded message ---------\n\nno headers here\n",
            ),
            Sender::Staff,
        )
        .unwrap_err();
        assert_eq!(error, RfiError::ForwardWithoutCustomer);
    }

    #[test]
    fn an_empty_request_is_refused() {
        assert_eq!(
            extract(&mail("a@client.test", "\n\n"), Sender::Public).unwrap_err(),
            RfiError::EmptyNeed
        );
    }
}
