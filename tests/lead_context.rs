//! What a request said beyond the customer's name reaches the partner: the new-lead mail
//! shows the place, the company size and the staff referrer's note, in the contact's
//! language, escaped in HTML; a customer address that bounces is flagged in lead mail.

use chrono::{TimeZone, Utc};
use leadbot::domain::{
    Customer, Deal, Lead, LeadContext, LeadId, LeadKind, LeadState, Locale, Referrer, ReferrerKind,
};
use leadbot::mail::templates::{Notification, render};

fn referred_lead(context: LeadContext) -> Lead {
    let received_at = Utc.with_ymd_and_hms(2026, 11, 3, 8, 0, 0).unwrap();
    Lead {
        id: LeadId(1060),
        kind: LeadKind::SalesQualified,
        state: LeadState::Received,
        partner_id: "contoso".into(),
        profile_id: "contoso-fr".into(),
        customer: Customer {
            name: Some("Jacques Leroy".into()),
            email: Some("contact@grandgroupe.test".into()),
            company: Some("Grand Groupe".into()),
            phone: None,
        },
        context,
        need: "Migrer notre messagerie vers Microsoft 365.".into(),
        hot_until: None,
        favorite: false,
        deal: Deal::default(),
        decline: None,
        contacts: Vec::new(),
        referrer: Some(Referrer {
            kind: ReferrerKind::Staff,
            email: "sam@microsoft.test".into(),
            name: Some("Sam Staff".into()),
        }),
        registration: None,
        received_at,
        expires_at: received_at + chrono::TimeDelta::days(14),
        first_response_at: None,
        closed_at: None,
        version: 0,
    }
}

fn new_lead_mail(lead: &Lead, locale: Locale) -> (String, String) {
    let notification = Notification::NewLead {
        lead,
        reply_to: "leads+t@leads.example.test",
        now: lead.received_at,
    };
    let rendered = render(&notification, locale).expect("renders");
    (rendered.text, rendered.html)
}

#[test]
fn the_new_lead_mail_shows_place_size_and_the_staff_note_in_the_readers_language() {
    let lead = referred_lead(LeadContext {
        region: Some("United Kingdom".into()),
        city: Some("Leeds".into()),
        company_size: Some("2000".into()),
        referrer_note: Some("Sales qualified: budget <approved> this quarter.".into()),
        customer_email_failure: None,
    });
    let (text, html) = new_lead_mail(&lead, Locale::En);
    assert!(
        text.contains("Location     Leeds, United Kingdom"),
        "{text}"
    );
    assert!(text.contains("Company size 2,000 employees"), "{text}");
    assert!(
        text.contains(
            "Note from Sam Staff (sam@microsoft.test):\nSales qualified: budget <approved> this quarter."
        ),
        "{text}"
    );
    assert!(
        html.contains("Note from Sam Staff (sam@microsoft.test):"),
        "{html}"
    );
    assert!(
        !html.contains("<approved>"),
        "customer text unescaped: {html}"
    );

    let (text, html) = new_lead_mail(&lead, Locale::Fr);
    assert!(text.contains("Localisation Leeds, Royaume-Uni"), "{text}");
    assert!(
        text.contains("Taille       2\u{202f}000 salariés"),
        "{text}"
    );
    assert!(
        text.contains("Note de Sam Staff (sam@microsoft.test)\u{a0}:"),
        "{text}"
    );
    assert!(html.contains("Royaume-Uni"), "{html}");
}

#[test]
fn nothing_said_shows_nothing() {
    let lead = referred_lead(LeadContext::default());
    for locale in [Locale::En, Locale::Fr] {
        let (text, _) = new_lead_mail(&lead, locale);
        let labels = [
            "Location",
            "Localisation",
            "Company size",
            "Taille ",
            "Note from",
            "Note de",
        ];
        for label in labels {
            assert!(!text.contains(label), "{label} shown for nothing: {text}");
        }
    }
}

#[test]
fn a_bouncing_customer_address_is_flagged_to_the_contacts() {
    let lead = referred_lead(LeadContext {
        customer_email_failure: Some("550 5.1.1 user unknown".into()),
        ..LeadContext::default()
    });
    let (text, html) = new_lead_mail(&lead, Locale::En);
    assert!(
        text.contains("mail to this address bounces (550 5.1.1 user unknown)"),
        "{text}"
    );
    assert!(html.contains("mail to this address bounces"), "{html}");
    let (text, _) = new_lead_mail(&lead, Locale::Fr);
    assert!(
        text.contains("cette adresse ne reçoit pas le courrier"),
        "{text}"
    );
}
