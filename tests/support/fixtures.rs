//! Leads the database tests start from, made through the store as ingest would.

use chrono::{DateTime, TimeDelta, Utc};
use leadbot::domain::{Customer, Lead, LeadContext, LeadKind};
use leadbot::store::leads::{self, NewLead};
use sqlx::PgPool;

/// Chloé Dubois's French inquiry to Contoso's French profile (three French contacts),
/// received at `received_at`, hot for 72 hours, expiring after 14 days. Tests change
/// what they need with struct-update syntax.
pub fn chloe_inquiry(received_at: DateTime<Utc>) -> NewLead {
    NewLead {
        kind: LeadKind::CustomerInquiry,
        partner_id: "contoso".into(),
        profile_id: "contoso-fr".into(),
        customer: Customer {
            name: Some("Chloé Dubois".into()),
            email: Some("chloe@client.test".into()),
            company: Some("Fabrikam SA".into()),
            phone: None,
        },
        context: LeadContext {
            region: Some("France".into()),
            ..LeadContext::default()
        },
        customer_locale: Some("fr".into()),
        need: "Migrer 200 boîtes mail vers Teams".into(),
        hot_until: Some(received_at + TimeDelta::hours(72)),
        referrer: None,
        source_message_id: None,
        received_at,
        expires_at: received_at + TimeDelta::days(14),
    }
}

pub async fn insert_lead(pool: &PgPool, new: &NewLead) -> Lead {
    let mut conn = pool.acquire().await.expect("a connection");
    leads::insert(&mut conn, new, "chloe@client.test")
        .await
        .expect("insert a lead")
        .expect("a new lead")
}

/// Queues a new lead's mail as ingest does: to its profile's contacts, and to the customer
/// in the language stored with the lead.
#[allow(dead_code)] // not every test binary queues mail
pub async fn queue_new_lead_mail(
    conn: &mut sqlx::PgConnection,
    bot: &leadbot::config::BotConfig,
    lead: &Lead,
    now: DateTime<Utc>,
) -> Vec<i64> {
    let contacts = leadbot::store::directory::profile_contacts(conn, &lead.profile_id)
        .await
        .expect("the profile's contacts");
    let locales = leads::customer_locales(conn, &[lead.id])
        .await
        .expect("the customer's language");
    let locale = locales.get(&lead.id).map(String::as_str);
    let mail = leadbot::workflow::notify::new_lead_mail(bot, lead, &contacts, locale, now)
        .expect("render the new lead's mail");
    let new: Vec<_> = mail.iter().map(|m| m.to_new()).collect();
    leadbot::store::outbox::insert_many(conn, &new, now)
        .await
        .expect("queue the new lead's mail")
}
