//! Which profiles an RFI goes to. Mail to a profile's address goes to that profile; mail to
//! the bot's own address goes to the profile that matches it best (region, keywords, company
//! size), and when several match equally well, to one of them drawn by responsiveness
//! ([`crate::domain::routing`]): the statistics are read only then, and only for those.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::config::Config;
use crate::domain::company_size;
use crate::domain::routing::{Weight, choose};
use crate::domain::stats::STATS_WINDOW;
use crate::mail::InboundMail;
use crate::mail::rfi::Rfi;
use crate::store::StoreError;
use crate::store::directory::ProfileRow;
use crate::store::stats::{self, Profiles};

/// The profiles an RFI is for: every profile address among the recipients (To, Cc,
/// Delivered-To); for mail to the bot's own address, one profile among the best matches.
/// `seed` (the inbound message's id) makes the draw repeatable. `Ok(Err(reason))`: no
/// profile, and why.
pub async fn route<'p>(
    conn: &mut PgConnection,
    config: &Config,
    mail: &InboundMail,
    rfi: &Rfi,
    profiles: &'p [ProfileRow],
    seed: u64,
    now: DateTime<Utc>,
) -> Result<Result<Vec<&'p ProfileRow>, String>, StoreError> {
    let recipients: Vec<String> = mail
        .to
        .iter()
        .chain(&mail.cc)
        .map(|m| m.email.to_lowercase())
        .chain(mail.delivered_to.iter().map(|d| d.to_lowercase()))
        .collect();
    let addressed: Vec<&ProfileRow> = profiles
        .iter()
        .filter(|p| recipients.contains(&p.address))
        .collect();
    if !addressed.is_empty() {
        return Ok(Ok(addressed));
    }
    let bot = config.bot.address.as_str();
    let to_bot =
        recipients.iter().any(|r| r == bot) || !mail.to.is_empty() && recipients.is_empty();
    if !to_bot && !recipients.is_empty() {
        return Ok(Err(format!(
            "not addressed to a profile or to {bot} (recipients: {})",
            recipients.join(", ")
        )));
    }
    let candidates = best_matches(rfi, profiles);
    let chosen = match candidates.as_slice() {
        [] => None,
        [only] => Some(*only),
        several => {
            let ids: Vec<String> = several.iter().map(|p| p.id.clone()).collect();
            let since = now - STATS_WINDOW;
            let target = config.schedule.response_target;
            let record =
                stats::profile_stats(conn, Profiles::Only(&ids), since, now, target).await?;
            let weights: Vec<f64> = several
                .iter()
                .map(|p| Weight::of(record.iter().find(|s| s.profile_id == p.id)).value)
                .collect();
            choose(&weights, seed).map(|i| several[i])
        }
    };
    Ok(chosen.map(|p| vec![p]).ok_or_else(|| {
        "no profile matches the request's region, keywords or company size".to_string()
    }))
}

/// How well a profile fits a request: a matching region 10 (another region −10), each
/// matching keyword 3, a preferred company size 2 (a size it does not take −5).
fn match_score(rfi: &Rfi, profile: &ProfileRow) -> i32 {
    let need = rfi.need.to_lowercase();
    let region_score = match rfi.region.as_deref().map(str::to_lowercase) {
        Some(region) if profile.regions.iter().any(|r| r.to_lowercase() == region) => 10,
        Some(_) if !profile.regions.is_empty() => -10,
        _ => 0,
    };
    let keyword_score = profile
        .keywords
        .iter()
        .filter(|k| need.contains(&k.to_lowercase()))
        .count() as i32
        * 3;
    let size_score = match &rfi.company_size {
        Some(size) if company_size::fits_any(size, &profile.company_sizes) => 2,
        Some(_) if !profile.company_sizes.is_empty() => -5,
        _ => 0,
    };
    region_score + keyword_score + size_score
}

/// The profiles with the highest positive score, by id.
pub fn best_matches<'p>(rfi: &Rfi, profiles: &'p [ProfileRow]) -> Vec<&'p ProfileRow> {
    let scored: Vec<(i32, &ProfileRow)> = profiles
        .iter()
        .map(|p| (match_score(rfi, p), p))
        .filter(|(score, _)| *score > 0)
        .collect();
    let Some(best) = scored.iter().map(|(score, _)| *score).max() else {
        return Vec::new();
    };
    let mut tied: Vec<&ProfileRow> = scored
        .into_iter()
        .filter(|(score, _)| *score == best)
        .map(|(_, p)| p)
        .collect();
    tied.sort_by(|a, b| a.id.cmp(&b.id));
    tied
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::rfi;

    fn profile(id: &str, keywords: &[&str], sizes: &[&str]) -> ProfileRow {
        ProfileRow {
            id: id.into(),
            partner_id: id.into(),
            address: format!("{id}@leads.example.test"),
            regions: vec!["France".into()],
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
            company_sizes: sizes.iter().map(|k| k.to_string()).collect(),
            locale: "en".into(),
        }
    }

    fn request(need: &str, size: Option<&str>) -> Rfi {
        Rfi {
            customer: Default::default(),
            region: Some("France".into()),
            city: None,
            company_size: size.map(String::from),
            need: need.into(),
            contact_me_directly: false,
            kind: crate::domain::LeadKind::CustomerInquiry,
            locale: None,
            shape: rfi::Shape::FreeForm,
            note: None,
        }
    }

    fn ids(profiles: Vec<&ProfileRow>) -> Vec<String> {
        profiles.into_iter().map(|p| p.id.clone()).collect()
    }

    #[test]
    fn only_the_best_matches_compete() {
        let profiles = [
            profile("b-azure", &["azure"], &[]),
            profile("a-azure", &["azure"], &[]),
            profile("c-teams", &["teams"], &[]),
        ];
        let azure = request("Azure migration", None);
        assert_eq!(ids(best_matches(&azure, &profiles)), ["a-azure", "b-azure"]);
        // A preferred company size settles it without any draw.
        let sized = [
            profile("a", &["azure"], &["50-249"]),
            profile("b", &["azure"], &[]),
        ];
        let mid_size = request("Azure migration", Some("50-249"));
        assert_eq!(ids(best_matches(&mid_size, &sized)), ["a"]);
        // A head count fits the range that holds it; 2,000 people are not 1–999.
        let ranged = [
            profile("small", &["azure"], &["1-49", "50-249", "250-999"]),
            profile("large", &["azure"], &["1000+"]),
        ];
        let four_hundred = request("Azure", Some("400"));
        assert_eq!(ids(best_matches(&four_hundred, &ranged)), ["small"]);
        let two_thousand = request("Azure", Some("2000"));
        assert_eq!(ids(best_matches(&two_thousand, &ranged)), ["large"]);
        let other_region = Rfi {
            region: Some("Spain".into()),
            ..request("printers", None)
        };
        assert!(best_matches(&other_region, &profiles).is_empty());
    }
}
