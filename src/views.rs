//! How leads look to operators: the stable JSON of DESIGN.md and a readable table.

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use crate::domain::Lead;
use crate::domain::Locale;
use crate::domain::company_size::CompanySize;
use crate::domain::routing::{FLOOR_SHARE, Weight};
use crate::domain::stats::{Fraction, ProfileStats, STATS_WINDOW};
use crate::store::inbound::InboundRow;
use crate::store::leads::EventRow;
use crate::store::outbox::OutboxRow;

/// The stable JSON shape of a lead (DESIGN.md, "--json output is stable").
pub fn lead_json(lead: &Lead, events: &[EventRow], now: DateTime<Utc>) -> Value {
    let deal = &lead.deal;
    json!({
        "id": lead.id.0,
        "tag": lead.id.to_string(),
        "state": lead.state.as_str(),
        "kind": lead.kind.as_str(),
        "hot": lead.is_hot(now),
        "hot_until": lead.hot_until,
        "favorite": lead.favorite,
        "customer": {
            "name": lead.customer.name,
            "email": lead.customer.email,
            "company": lead.customer.company,
            "phone": lead.customer.phone,
            "email_failure": lead.context.customer_email_failure,
        },
        "region": lead.context.region,
        "city": lead.context.city,
        "company_size": lead.context.company_size,
        "referrer_note": lead.context.referrer_note,
        "need": lead.need,
        "profile": lead.profile_id,
        "partner": lead.partner_id,
        "deal": {
            "name": deal.name,
            "value": deal.value.as_ref().and_then(|m| m.amount.to_f64()),
            "currency": deal.value.as_ref().map(|m| m.currency.clone()),
            "timeframe": deal.timeframe,
            "notes": deal.notes,
            "crm_id": deal.crm_id,
            "campaign_id": deal.campaign_id,
        },
        "decline_reason": lead.decline.as_ref().map(|d| d.reason.as_str()),
        "decline_notes": lead.decline.as_ref().and_then(|d| d.notes.clone()),
        "contacts": lead.contacts,
        "referrer": lead.referrer,
        "registration": lead.registration,
        "received_at": lead.received_at,
        "expires_at": lead.expires_at,
        "first_response_at": lead.first_response_at,
        "closed_at": lead.closed_at,
        "events": events.iter().map(|e| json!({
            "at": e.at, "kind": e.kind, "actor": e.actor, "data": e.data,
        })).collect::<Vec<_>>(),
    })
}

/// One line per lead, aligned, for `lead list` without `--json`.
pub fn lead_table(leads: &[Lead], now: DateTime<Utc>) -> String {
    let mut rows = vec![[
        "ID".to_string(),
        "STATE".into(),
        "KIND".into(),
        "HOT".into(),
        "PROFILE".into(),
        "CUSTOMER".into(),
        "RECEIVED".into(),
        "NEED".into(),
    ]];
    for lead in leads {
        let customer = lead
            .customer
            .name
            .clone()
            .or_else(|| lead.customer.email.clone())
            .unwrap_or_default();
        rows.push([
            lead.id.to_string(),
            lead.state.to_string(),
            lead.kind.to_string(),
            if lead.is_hot(now) { "yes" } else { "" }.into(),
            lead.profile_id.clone(),
            shorten(&customer, 24),
            lead.received_at.format("%Y-%m-%d %H:%M").to_string(),
            shorten(
                &lead.need.split_whitespace().collect::<Vec<_>>().join(" "),
                40,
            ),
        ]);
    }
    align(&rows)
}

/// A lead with its history, for `lead show` without `--json`.
pub fn lead_text(lead: &Lead, events: &[EventRow], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        if !value.is_empty() {
            out.push_str(&format!("{label:<14}{value}\n"));
        }
    };
    let customer = &lead.customer;
    line("Lead", format!("{} ({})", lead.id, lead.kind));
    line(
        "State",
        format!(
            "{}{}{}",
            lead.state,
            if lead.is_hot(now) { ", hot" } else { "" },
            if lead.favorite { ", favorite" } else { "" }
        ),
    );
    line(
        "Profile",
        format!("{} ({})", lead.profile_id, lead.partner_id),
    );
    line(
        "Customer",
        [
            &customer.name,
            &customer.email,
            &customer.company,
            &customer.phone,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(", "),
    );
    let context = &lead.context;
    if let Some(failure) = &context.customer_email_failure {
        line("Email fails", failure.clone());
    }
    line(
        "Where",
        [&context.city, &context.region]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
    );
    line(
        "Company size",
        context
            .company_size
            .as_deref()
            .map(|size| CompanySize::parse(size).map_or(size.to_string(), |s| s.label(false)))
            .unwrap_or_default(),
    );
    line(
        "Referrer note",
        context
            .referrer_note
            .clone()
            .unwrap_or_default()
            .replace('\n', "\n              "),
    );
    line("Need", lead.need.replace('\n', "\n              "));
    line("Deal", lead.deal.name.clone().unwrap_or_default());
    line(
        "Value",
        lead.deal
            .value
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    );
    line("Timeframe", lead.deal.timeframe.clone().unwrap_or_default());
    if let Some(decline) = &lead.decline {
        line("Declined", decline.reason.label().to_string());
    }
    for contact in &lead.contacts {
        line(
            "Contact",
            [
                Some(&contact.name),
                contact.phone.as_ref(),
                contact.email.as_ref(),
            ]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        );
    }
    line(
        "Received",
        lead.received_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    );
    if lead.state.is_open() {
        line(
            "Expires",
            lead.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        );
    }
    out.push_str("\nHistory\n");
    for event in events {
        out.push_str(&format!(
            "  {}  {:<28} {}\n",
            event.at.format("%Y-%m-%d %H:%M"),
            event.kind,
            event.actor
        ));
        // What the customer wrote again is part of the lead's story: show it, quoted.
        if let Some(text) = event.data.get("text").and_then(|t| t.as_str()) {
            for said in text.lines() {
                out.push_str(&format!("      > {said}\n"));
            }
        }
    }
    out
}

/// One line per inbound message, for `inbound list` without `--json`.
pub fn inbound_table(rows: &[crate::store::inbound::InboundRow]) -> String {
    let mut table = vec![[
        "ID".to_string(),
        "RECEIVED".into(),
        "OUTCOME".into(),
        "CLASS".into(),
        "SENDER".into(),
        "SUBJECT".into(),
        "REASON".into(),
    ]];
    for row in rows {
        table.push([
            row.id.to_string(),
            row.received_at.format("%Y-%m-%d %H:%M").to_string(),
            row.outcome.clone(),
            row.class.clone().unwrap_or_default(),
            shorten(row.sender.as_deref().unwrap_or(""), 28),
            shorten(row.subject.as_deref().unwrap_or(""), 32),
            shorten(row.reason.as_deref().unwrap_or(""), 48),
        ]);
    }
    align(&table)
}

/// The stable JSON of an outbox entry (DESIGN.md), plus its delivery bookkeeping.
pub fn outbox_json(row: &OutboxRow) -> Value {
    json!({
        "id": row.id,
        "lead_id": row.lead_id,
        "template": row.template,
        "to": row.recipient,
        "subject": row.subject,
        "message_id": row.message_id,
        "reply_to": row.reply_to,
        "in_reply_to": row.in_reply_to,
        "state": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "run_at": row.run_at,
        "created_at": row.created_at,
        "sent_at": row.sent_at,
        "text": row.text_body,
    })
}

/// One line per outbox entry, for `outbox list` without `--json`.
pub fn outbox_table(rows: &[OutboxRow]) -> String {
    let mut table = vec![[
        "ID".to_string(),
        "STATE".into(),
        "TRIES".into(),
        "LEAD".into(),
        "TO".into(),
        "SUBJECT".into(),
        "NEXT TRY / SENT".into(),
        "LAST ERROR".into(),
    ]];
    for row in rows {
        let when = match (row.state.as_str(), row.sent_at) {
            ("sent", Some(at)) => at,
            _ => row.run_at,
        };
        table.push([
            row.id.to_string(),
            row.state.clone(),
            row.attempts.to_string(),
            row.lead_id.map(|id| format!("L-{id}")).unwrap_or_default(),
            shorten(&row.recipient, 28),
            shorten(&row.subject, 48),
            if row.state == "failed" {
                String::new()
            } else {
                when.format("%Y-%m-%d %H:%M:%S").to_string()
            },
            shorten(row.last_error.as_deref().unwrap_or(""), 60),
        ]);
    }
    align(&table)
}

/// A lead's mail, both ways, in time order: what came in and what leadbot wrote.
pub fn messages_json(inbound: &[InboundRow], outbound: &[OutboxRow]) -> Value {
    let mut messages: Vec<(DateTime<Utc>, Value)> = inbound
        .iter()
        .map(|m| {
            (
                m.received_at,
                json!({
                    "direction": "in", "at": m.received_at, "id": m.id,
                    "from": m.sender, "subject": m.subject, "class": m.class,
                    "outcome": m.outcome, "reason": m.reason, "message_id": m.message_id,
                }),
            )
        })
        .chain(outbound.iter().map(|m| {
            (
                m.created_at,
                json!({
                    "direction": "out", "at": m.created_at, "id": m.id,
                    "to": m.recipient, "subject": m.subject, "template": m.template,
                    "state": m.state, "message_id": m.message_id,
                }),
            )
        }))
        .collect();
    messages.sort_by_key(|(at, _)| *at);
    Value::Array(messages.into_iter().map(|(_, m)| m).collect())
}

/// The same, as lines under `lead show`.
pub fn messages_text(inbound: &[InboundRow], outbound: &[OutboxRow]) -> String {
    let mut lines: Vec<(DateTime<Utc>, String)> = inbound
        .iter()
        .map(|m| {
            let from = m.sender.as_deref().unwrap_or("?");
            let subject = m.subject.as_deref().unwrap_or("");
            (
                m.received_at,
                format!("in   {from:<30} {subject} ({})", m.outcome),
            )
        })
        .chain(outbound.iter().map(|m| {
            let line = format!("out  {:<30} {} ({})", m.recipient, m.subject, m.state);
            (m.created_at, line)
        }))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    lines.sort_by_key(|(at, _)| *at);
    let mut out = String::from("\nMail\n");
    for (at, line) in lines {
        out.push_str(&format!(
            "  {}  {}\n",
            at.format("%Y-%m-%d %H:%M"),
            shorten(&line, 110)
        ));
    }
    out
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let kept: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

fn align<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `partner stats --json`: each profile's counts over the last 30 days, its rates (0..1,
/// null without data), median response in seconds, and routing weight with its parts.
pub fn stats_json(stats: &[ProfileStats], response_target: TimeDelta) -> Value {
    let rate = |f: Option<Fraction>| f.map(Fraction::rate);
    Value::Array(
        stats
            .iter()
            .map(|s| {
                let mut view = serde_json::to_value(s).unwrap_or(Value::Null);
                if let Value::Object(fields) = &mut view {
                    let weight = Weight::of(Some(s));
                    fields.insert("window_days".into(), json!(STATS_WINDOW.num_days()));
                    fields.insert(
                        "response_target_seconds".into(),
                        json!(response_target.num_seconds()),
                    );
                    fields.insert("answered".into(), json!(s.accepted + s.declined));
                    fields.insert("on_time_rate".into(), json!(rate(s.on_time())));
                    fields.insert("acceptance_rate".into(), json!(rate(s.acceptance())));
                    fields.insert("win_rate".into(), json!(rate(s.wins())));
                    fields.insert("weight".into(), json!(weight.value));
                    let median = fields.remove("median_response");
                    fields.insert(
                        "median_response_seconds".into(),
                        median.unwrap_or(Value::Null),
                    );
                }
                view
            })
            .collect(),
    )
}

/// One line per profile, for `partner stats` without `--json`: the last 30 days, and the
/// routing weight with the two rates it is the mean of.
pub fn stats_table(stats: &[ProfileStats], response_target: TimeDelta) -> String {
    let locale = Locale::En;
    let of = |f: Option<Fraction>| {
        f.map_or("-".into(), |f| {
            let percent = locale.percent(f.part, f.whole).unwrap_or_default();
            format!("{}/{} {percent}", f.part, f.whole)
        })
    };
    let mut table = vec![[
        "PARTNER".to_string(),
        "PROFILE".into(),
        "LEADS".into(),
        format!("IN {}", locale.duration(response_target)),
        "MEDIAN".into(),
        "ACCEPTED".into(),
        "EXPIRED".into(),
        "WON".into(),
        "WEIGHT".into(),
        "WHY".into(),
    ]];
    for s in stats {
        let weight = Weight::of(Some(s));
        let why = |f: Option<Fraction>, what: &str| match f {
            Some(f) => format!("{what} {}/{}", f.part, f.whole),
            None => format!("{what} unknown (counts 1/2)"),
        };
        table.push([
            s.partner_id.clone(),
            s.profile_id.clone(),
            s.leads.to_string(),
            of(s.on_time()),
            s.median_response.map_or("-".into(), |m| locale.duration(m)),
            of(s.acceptance()),
            s.expired.to_string(),
            of(s.wins()),
            format!("{:.2}", weight.value),
            format!(
                "mean of {} and {}",
                why(weight.on_time, "in time"),
                why(weight.acceptance, "accepted")
            ),
        ]);
    }
    let mut out = format!(
        "Leads received in the last {days} days.\n\
         IN {target}: answered within the response target, of the leads answered or older than it.\n\
         ACCEPTED: of the leads accepted, declined or expired.\n\
         WEIGHT: the routing weight; each matching profile keeps at least a {floor}% share.\n\n",
        days = STATS_WINDOW.num_days(),
        target = locale.duration(response_target),
        floor = (FLOOR_SHARE * 100.0).round()
    );
    out.push_str(&align(&table));
    out
}
