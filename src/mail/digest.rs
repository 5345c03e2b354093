//! The partner admin's daily digest as a mail: what needs action first, then the period,
//! then the last 30 days per profile, with a chart sent as an inline image (`cid:`) and the
//! same numbers in text beside it. Every number, date and duration goes through the shared
//! [`Locale`] formatter; the words live in `templates/digest.{txt,html}`.

use askama::Template;
use chrono::{NaiveDate, TimeDelta};

use super::chart::{self, Bar, ChartError, Panel, Rgb};
use super::outgoing::InlinePart;
use super::templates::{Rendered, kind_label, state_label};
use crate::domain::LeadState;
use crate::domain::Locale;
use crate::domain::digest::{Digest, DigestLead, ResponseBucket};
use crate::domain::stats::{Fraction, ProfileStats};

/// Each lead list shows at most this many lines, then "and 12 more": the digest stays short
/// (and under the size mail clients clip at) whatever the month was like.
pub const LIST_CAP: usize = 8;

/// The digest's parts: subject, text, HTML (showing the chart as `cid:`) and the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedDigest {
    pub rendered: Rendered,
    pub chart: InlinePart,
}

#[derive(Debug, thiserror::Error)]
pub enum DigestRenderError {
    #[error("the digest template failed to render")]
    Template(#[from] askama::Error),
    #[error(transparent)]
    Chart(#[from] ChartError),
}

/// The digest of `day` for its admin, in `locale`; the chart's part has `chart_content_id`.
pub fn render(
    digest: &Digest,
    day: NaiveDate,
    locale: Locale,
    chart_content_id: &str,
) -> Result<RenderedDigest, DigestRenderError> {
    let view = DigestView::new(digest, day, locale, chart_content_id);
    let png = chart::bar_panels(&view.panels)?;
    let page = LayoutPage {
        fr: locale == Locale::Fr,
        lead: NoLead { tag: "" },
    };
    let subject = match locale {
        Locale::En => format!("Daily digest for {}: {}", digest.partner_name, view.day),
        Locale::Fr => format!(
            "Synthèse quotidienne {}{} {}",
            digest.partner_name,
            locale.typeset(" :"),
            view.day
        ),
    };
    Ok(RenderedDigest {
        rendered: Rendered {
            subject,
            text: DigestText { p: &page, d: &view }.render()?,
            html: DigestHtml { p: &page, d: &view }.render()?,
        },
        chart: InlinePart {
            content_id: chart_content_id.to_string(),
            content_type: "image/png".into(),
            filename: "chart.png".into(),
            data: png,
        },
    })
}

/// What the shared layout (`_layout.html`, `_footer.txt`) reads: the language, and the lead
/// tag a digest does not have.
struct LayoutPage {
    fr: bool,
    lead: NoLead,
}

struct NoLead {
    tag: &'static str,
}

/// A digest as the admin reads it: every number and date already written out.
struct DigestView {
    locale: Locale,
    partner: String,
    day: String,
    period_start: String,
    period_end: String,
    /// Hot, expiring and waiting leads: what to do today.
    action: Vec<Section>,
    /// What happened since the last digest.
    period: Vec<Section>,
    /// Sums per currency, joined; empty without any.
    pipeline: String,
    /// `:` and `;` as the language sets them after a word (`\u{a0}:` in French).
    colon: String,
    semi: String,
    /// The response target, written out: `1 d` / `1 j`.
    target: String,
    totals: Totals,
    profiles: Vec<ProfileLine>,
    /// The chart's panels; the HTML and the text list the same numbers.
    panels: Vec<Panel>,
    chart_src: String,
    chart_alt: String,
    chart_height: u32,
}

/// A titled list of leads, capped at [`LIST_CAP`] lines.
struct Section {
    title: String,
    count: usize,
    lines: Vec<DigestLine>,
    /// `and 12 more` / `et 12 autres`; empty when every lead is listed.
    more: String,
    /// Shown as an alarm in the HTML (hot, expiring, expired).
    urgent: bool,
}

/// One lead in a digest list; `detail` says why it is there (its age, its deadline, …).
struct DigestLine {
    tag: String,
    customer: String,
    profile: String,
    detail: String,
}

/// The partner's profiles together, over 30 days.
struct Totals {
    leads: String,
    on_time: String,
    acceptance: String,
    expired: String,
    waiting: String,
    won_lost: String,
}

struct ProfileLine {
    id: String,
    leads: String,
    on_time: String,
    median: String,
    acceptance: String,
    wins: String,
    expired: String,
}

impl DigestView {
    fn new(digest: &Digest, day: NaiveDate, locale: Locale, chart_content_id: &str) -> Self {
        let fr = locale == Locale::Fr;
        let now = digest.now;
        let tr = |en: &str, french: &str| locale.typeset(if fr { french } else { en });
        let when = |at| locale.date_time(at);
        let span = |d: TimeDelta| locale.duration(d);
        let value = |l: &DigestLead| {
            l.deal_value
                .as_ref()
                .map(|m| locale.money(m))
                .unwrap_or_default()
        };
        let section = |title: String,
                       leads: &[DigestLead],
                       urgent: bool,
                       detail: &dyn Fn(&DigestLead) -> String| {
            let more = leads.len().saturating_sub(LIST_CAP);
            let more = match more {
                0 => String::new(),
                n if fr => format!("et {} autres", locale.integer(n as i64)),
                n => format!("and {} more", locale.integer(n as i64)),
            };
            Section {
                title,
                count: leads.len(),
                lines: leads
                    .iter()
                    .take(LIST_CAP)
                    .map(|l| DigestLine {
                        tag: l.id.tag(),
                        customer: l.customer.clone(),
                        profile: l.profile_id.clone(),
                        detail: detail(l),
                    })
                    .collect(),
                more,
                urgent,
            }
        };
        let action = vec![
            section(
                tr(
                    "Customers waiting for a call, unanswered",
                    "Clients qui attendent un appel, sans réponse",
                ),
                &digest.hot_unanswered,
                true,
                &|l| match (l.hot_until, fr) {
                    (Some(until), false) => format!("call before {}", when(until)),
                    (Some(until), true) => format!("à appeler avant le {}", when(until)),
                    (None, _) => String::new(),
                },
            ),
            section(
                tr("Expiring within 48 hours", "Expirent dans les 48 heures"),
                &digest.expiring_soon,
                true,
                &|l| match fr {
                    false => format!("expires {}", when(l.expires_at)),
                    true => format!("expire le {}", when(l.expires_at)),
                },
            ),
            section(
                tr("Awaiting your answer", "En attente de votre réponse"),
                &digest.awaiting,
                false,
                &|l| match fr {
                    false => format!("waiting {}", span(now - l.received_at)),
                    true => format!("en attente depuis {}", span(now - l.received_at)),
                },
            ),
        ];
        let period = vec![
            section(
                tr("New leads", "Nouvelles demandes"),
                &digest.new_leads,
                false,
                &|l| kind_label(l.kind, fr).to_string(),
            ),
            section(tr("Accepted", "Acceptées"), &digest.accepted, false, &value),
            section(
                tr("Declined", "Refusées"),
                &digest.declined,
                false,
                &|_| String::new(),
            ),
            section(
                tr("Expired unanswered", "Expirées sans réponse"),
                &digest.expired,
                true,
                &|l| match fr {
                    false => format!("received {}", when(l.received_at)),
                    true => format!("reçue le {}", when(l.received_at)),
                },
            ),
            section(tr("Won", "Gagnées"), &digest.won, false, &value),
            section(tr("Lost", "Perdues"), &digest.lost, false, &value),
        ];
        let of = |fraction: Option<Fraction>| match fraction {
            Some(f) => {
                let percent = locale.percent(f.part, f.whole).unwrap_or_default();
                let (part, whole) = (
                    locale.integer(f.part as i64),
                    locale.integer(f.whole as i64),
                );
                match fr {
                    false => format!("{part} of {whole} ({percent})"),
                    true => format!("{part} sur {whole} ({percent})"),
                }
            }
            None => "—".to_string(),
        };
        let count = |n: i64| locale.integer(n);
        let total = &digest.total;
        let totals = Totals {
            leads: count(total.leads),
            on_time: of(total.on_time()),
            acceptance: of(total.acceptance()),
            expired: count(total.expired),
            waiting: count(total.waiting),
            won_lost: format!("{} / {}", count(total.won), count(total.lost)),
        };
        let profiles = digest
            .profiles
            .iter()
            .map(|s: &ProfileStats| ProfileLine {
                id: s.profile_id.clone(),
                leads: count(s.leads),
                on_time: of(s.on_time()),
                median: s.median_response.map_or("—".to_string(), span),
                acceptance: of(s.acceptance()),
                wins: of(s.wins()),
                expired: count(s.expired),
            })
            .collect();
        let panels = chart_panels(digest, locale);
        let semi = if fr { locale.typeset(" ;") } else { ";".into() };
        let chart_alt = panels
            .iter()
            .map(|p| {
                let bars: Vec<String> = p
                    .bars
                    .iter()
                    .map(|b| format!("{} {}", b.label, b.value_label))
                    .collect();
                format!("{} — {}", p.title, bars.join(", "))
            })
            .collect::<Vec<_>>()
            .join(". ");
        Self {
            locale,
            partner: digest.partner_name.clone(),
            day: locale.date(day),
            period_start: when(digest.period_start),
            period_end: when(now),
            action,
            period,
            pipeline: digest
                .pipeline
                .iter()
                .map(|m| locale.money(m))
                .collect::<Vec<_>>()
                .join(&format!("{semi} ")),
            colon: if fr { locale.typeset(" :") } else { ":".into() },
            semi,
            target: span(digest.response_target),
            totals,
            profiles,
            chart_height: chart::height(panels.len()),
            panels,
            chart_src: format!("cid:{chart_content_id}"),
            chart_alt,
        }
    }

    /// The template's own French text, typeset (`"Profil :"` → no-break space).
    fn t(&self, text: &str) -> String {
        self.locale.typeset(text)
    }

    fn chart_width(&self) -> u32 {
        chart::WIDTH
    }
}

/// State colours of the first panel; the second uses other colours, so no colour means two
/// things.
fn state_color(state: LeadState) -> Rgb {
    match state {
        LeadState::Received => Rgb(0xf2, 0xa9, 0x00),
        LeadState::Accepted => Rgb(0x1f, 0x6f, 0xc5),
        LeadState::Declined => Rgb(0x8c, 0x6d, 0x46),
        LeadState::Expired => Rgb(0xd6, 0x27, 0x28),
        LeadState::Won => Rgb(0x2c, 0xa0, 0x2c),
        LeadState::Lost => Rgb(0x7b, 0x4f, 0x9e),
    }
}

const ANSWERED: Rgb = Rgb(0x17, 0xa2, 0xb8);
const UNANSWERED: Rgb = Rgb(0x55, 0x55, 0x55);

fn bucket_label(bucket: ResponseBucket, fr: bool) -> &'static str {
    match (bucket, fr) {
        (ResponseBucket::UnderAnHour, _) => "< 1 h",
        (ResponseBucket::UnderFourHours, _) => "1–4 h",
        (ResponseBucket::UnderADay, _) => "4–24 h",
        (ResponseBucket::UnderThreeDays, false) => "1–3 days",
        (ResponseBucket::UnderThreeDays, true) => "1–3 jours",
        (ResponseBucket::Longer, false) => "> 3 days",
        (ResponseBucket::Longer, true) => "> 3 jours",
        (ResponseBucket::Unanswered, false) => "no answer",
        (ResponseBucket::Unanswered, true) => "sans réponse",
    }
}

fn chart_panels(digest: &Digest, locale: Locale) -> Vec<Panel> {
    let fr = locale == Locale::Fr;
    let bar = |label: String, value: usize, color| Bar {
        label,
        value: value as u32,
        value_label: locale.integer(value as i64),
        color,
    };
    vec![
        Panel {
            title: if fr {
                "Demandes reçues sur 30 jours, par état actuel".into()
            } else {
                "Leads received in the last 30 days, by state now".into()
            },
            bars: digest
                .by_state
                .iter()
                .map(|(state, n)| bar(state_label(*state, fr).to_string(), *n, state_color(*state)))
                .collect(),
        },
        Panel {
            title: if fr {
                "Délai de première réponse (réponse due)".into()
            } else {
                "Time to first response (answer due)".into()
            },
            bars: digest
                .response_times
                .iter()
                .map(|(bucket, n)| {
                    let color = match bucket {
                        ResponseBucket::Unanswered => UNANSWERED,
                        _ => ANSWERED,
                    };
                    bar(bucket_label(*bucket, fr).to_string(), *n, color)
                })
                .collect(),
        },
    ]
}

#[derive(Template)]
#[template(path = "digest.txt")]
struct DigestText<'a> {
    p: &'a LayoutPage,
    d: &'a DigestView,
}

#[derive(Template)]
#[template(path = "digest.html")]
struct DigestHtml<'a> {
    p: &'a LayoutPage,
    d: &'a DigestView,
}
