//! Daily digests to partner admins: due once the configured local time has passed, sent
//! once per admin per local day (the `digests_sent` row is the claim, written in the same
//! transaction as the queued mail).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};

use super::notify::{self, Composed, Recipient};
use crate::config::{Config, ScheduleConfig};
use crate::domain::Locale;
use crate::domain::digest::{Digest, FIRST_PERIOD, STATS_WINDOW};
use crate::mail::digest::{self as mail, DigestRenderError};
use crate::mail::outgoing::new_message_id;
use crate::store::schedule::{self as store, DigestRecipient};
use crate::store::stats::{self, Profiles};
use crate::store::{Doing, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the digest for {recipient}")]
    Render {
        recipient: String,
        source: DigestRenderError,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestsSent {
    pub sent: usize,
}

/// The day it is where the digests are read.
pub fn local_day(schedule: &ScheduleConfig, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&schedule.digest_utc_offset).date_naive()
}

/// True once today's digest time has passed, local time.
pub fn digest_time_passed(schedule: &ScheduleConfig, now: DateTime<Utc>) -> bool {
    now.with_timezone(&schedule.digest_utc_offset).time() >= schedule.digest_time
}

/// The scheduler's rule: every admin who has no digest for today yet gets one, once the
/// digest time has passed.
pub async fn send_due(
    pool: &PgPool,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<DigestsSent, DigestError> {
    let mut report = DigestsSent::default();
    if !digest_time_passed(&config.schedule, now) {
        return Ok(report);
    }
    let day = local_day(&config.schedule, now);
    let recipients = {
        let mut conn = pool.acquire().await.doing("connecting to PostgreSQL")?;
        store::digest_recipients(&mut conn, None).await?
    };
    for recipient in &recipients {
        let mut tx = pool.begin().await.doing("starting a digest")?;
        // Read before claiming, so the claim's own row is not "the last digest".
        let since = store::last_digest_before(&mut tx, recipient.contact_id, now).await?;
        if !store::claim_digest(&mut tx, recipient.contact_id, day, now).await? {
            continue; // sent today already, maybe by another scheduler
        }
        queue_digest(&mut tx, config, recipient, since, day, now).await?;
        tx.commit().await.doing("committing a digest")?;
        report.sent += 1;
    }
    Ok(report)
}

/// `leadbot digest send`: a digest to every admin (of `partner`) now, whatever the time of
/// day, recorded as today's so the scheduler does not send another.
pub async fn send_now(
    pool: &PgPool,
    config: &Config,
    partner: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DigestsSent, DigestError> {
    let day = local_day(&config.schedule, now);
    let mut report = DigestsSent::default();
    let recipients = {
        let mut conn = pool.acquire().await.doing("connecting to PostgreSQL")?;
        store::digest_recipients(&mut conn, partner).await?
    };
    for recipient in &recipients {
        let mut tx = pool.begin().await.doing("starting a digest")?;
        let since = store::last_digest_before(&mut tx, recipient.contact_id, now).await?;
        store::record_digest(&mut tx, recipient.contact_id, day, now).await?;
        queue_digest(&mut tx, config, recipient, since, day, now).await?;
        tx.commit().await.doing("committing a digest")?;
        report.sent += 1;
    }
    Ok(report)
}

/// A partner's digest over the period since the admin's last one (else the last 24 hours).
pub async fn build(
    conn: &mut PgConnection,
    config: &Config,
    partner_id: &str,
    partner_name: &str,
    last_digest: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Digest, StoreError> {
    let period_start = last_digest.unwrap_or(now - FIRST_PERIOD);
    let window_start = now - STATS_WINDOW;
    let target = config.schedule.response_target;
    let leads = store::digest_leads(conn, partner_id, period_start.min(window_start)).await?;
    let profiles = stats::profile_stats(
        conn,
        Profiles::OfPartner(partner_id),
        window_start,
        now,
        target,
    )
    .await?;
    Ok(Digest::build(
        partner_id,
        partner_name,
        leads,
        profiles,
        target,
        period_start,
        now,
    ))
}

async fn queue_digest(
    tx: &mut PgConnection,
    config: &Config,
    recipient: &DigestRecipient,
    last_digest: Option<DateTime<Utc>>,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), DigestError> {
    let digest = build(
        tx,
        config,
        &recipient.partner_id,
        &recipient.partner_name,
        last_digest,
        now,
    )
    .await?;
    let locale = Locale::parse(&recipient.locale).unwrap_or(config.bot.default_locale);
    // The import validated the address; a row that no longer parses is skipped, not fatal.
    let Some(to) = Recipient::outsider(&recipient.email, locale) else {
        tracing::warn!(
            email = recipient.email,
            "digest recipient has an unusable address"
        );
        return Ok(());
    };
    let chart_id = new_message_id(Some("chart"), config.bot.address.domain());
    let written =
        mail::render(&digest, day, locale, &chart_id).map_err(|source| DigestError::Render {
            recipient: recipient.email.clone(),
            source,
        })?;
    let composed = Composed {
        rendered: written.rendered,
        inline: vec![written.chart],
        template: "digest",
    };
    notify::queue_composed(tx, &config.bot, &to, None, composed, None, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_digest_is_due_after_its_local_time() {
        let text = "[bot]\nsecret = \"0123456789abcdef\"\n[schedule]\ndigest_time = \"08:00\"\n\
                    digest_timezone = \"+10:00\"\n";
        let schedule = Config::from_parts(None, text, &[]).unwrap().schedule;
        // 21:59 UTC is 07:59 the next morning in UTC+10.
        let before = Utc.with_ymd_and_hms(2026, 11, 19, 21, 59, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 19, 22, 0, 0).unwrap();
        assert!(!digest_time_passed(&schedule, before));
        assert!(digest_time_passed(&schedule, after));
        assert_eq!(local_day(&schedule, after).to_string(), "2026-11-20");
    }
}
