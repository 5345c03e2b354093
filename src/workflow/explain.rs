//! `leadbot parse`: what leadbot makes of one message, without a database — for operators
//! checking why a message was handled the way it was.

use serde::Serialize;

use crate::config::Config;
use crate::domain::command::parse_command;
use crate::mail::rfi::{self, Rfi, Sender};
use crate::mail::{ClassifyContext, MailClass, classify, parse, reply_text};

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub class: Option<MailClass>,
    pub error: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub body_text: Option<String>,
    /// The new text of a reply (no quotes, no signature).
    pub reply_text: Option<String>,
    /// The command read from the reply text, as understood.
    pub command: Option<serde_json::Value>,
    pub rfi: Option<Rfi>,
    pub rfi_error: Option<String>,
    pub attachments: Vec<String>,
}

/// Without a configuration, the defaults of DESIGN.md stand in (bot address, no staff).
pub fn explain(raw: &[u8], config: Option<&Config>) -> Explanation {
    let mail = match parse(raw) {
        Ok(mail) => mail,
        Err(error) => {
            return Explanation {
                class: None,
                error: Some(error.to_string()),
                sender: None,
                subject: None,
                message_id: None,
                body_text: None,
                reply_text: None,
                command: None,
                rfi: None,
                rfi_error: None,
                attachments: vec![],
            };
        }
    };
    let bot_address = config.map_or("leads@leads.example.test".to_string(), |c| {
        c.bot.address.to_string()
    });
    let class = classify(&mail, &ClassifyContext { bot_address });
    let sender_email = mail.from.as_ref().map(|f| f.email.clone());
    let is_staff = config.is_some_and(|c| {
        sender_email.as_deref().is_some_and(|e| {
            c.bot
                .staff_domains
                .iter()
                .any(|d| e.rsplit_once('@').is_some_and(|(_, domain)| domain == d))
        })
    });
    let (rfi, rfi_error) = if class == MailClass::Request {
        let sender = if is_staff {
            Sender::Staff
        } else {
            Sender::Public
        };
        match rfi::extract(&mail, sender) {
            Ok(rfi) => (Some(rfi), None),
            Err(error) => (None, Some(error.to_string())),
        }
    } else {
        (None, None)
    };
    Explanation {
        class: Some(class),
        error: None,
        sender: mail.from.as_ref().map(|f| match &f.name {
            Some(name) => format!("{name} <{}>", f.email),
            None => f.email.clone(),
        }),
        subject: Some(mail.subject.clone()),
        message_id: mail.message_id.clone(),
        command: (class == MailClass::Reply).then(|| command_json(&reply_text(&mail.text))),
        reply_text: (class == MailClass::Reply).then(|| reply_text(&mail.text)),
        body_text: Some(mail.text.clone()),
        rfi,
        rfi_error,
        attachments: mail
            .attachments
            .iter()
            .map(|a| {
                format!(
                    "{} ({}, {} bytes)",
                    a.name.as_deref().unwrap_or("unnamed"),
                    a.content_type,
                    a.size
                )
            })
            .collect(),
    }
}

fn command_json(reply: &str) -> serde_json::Value {
    match parse_command(reply) {
        Ok(parsed) => serde_json::json!({
            "word": parsed.command.word(),
            "lead": parsed.lead.map(|id| id.to_string()),
            "language": parsed.language,
            "understood": parsed.understood.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
        Err(error) => serde_json::json!({ "error": error.to_string() }),
    }
}

pub fn as_text(explanation: &Explanation) -> String {
    let mut out = String::new();
    if let Some(error) = &explanation.error {
        out.push_str(&format!("unreadable: {error}\n"));
        return out;
    }
    let mut line = |label: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            out.push_str(&format!("{label:<12}{value}\n"));
        }
    };
    let class = explanation
        .class
        .and_then(|c| serde_json::to_value(c).ok())
        .and_then(|v| v.as_str().map(String::from));
    line("class", class.as_deref());
    line("sender", explanation.sender.as_deref());
    line("subject", explanation.subject.as_deref());
    line("message-id", explanation.message_id.as_deref());
    for attachment in &explanation.attachments {
        line("attachment", Some(attachment));
    }
    if let Some(reply) = &explanation.reply_text {
        out.push_str(&format!("\nreply text (new text only):\n{reply}\n"));
    }
    if let Some(command) = &explanation.command {
        match command.get("word").and_then(|w| w.as_str()) {
            Some(word) => {
                out.push_str(&format!("\ncommand     {word}\n"));
                for item in command["understood"].as_array().into_iter().flatten() {
                    out.push_str(&format!("  {}\n", item.as_str().unwrap_or_default()));
                }
            }
            None => out.push_str(&format!(
                "command     none: {}\n",
                command["error"].as_str().unwrap_or_default()
            )),
        }
    }
    if let Some(rfi) = &explanation.rfi {
        let c = &rfi.customer;
        out.push_str("\nrequest for information:\n");
        for (label, value) in [
            ("customer", c.name.as_deref()),
            ("email", c.email.as_deref()),
            ("company", c.company.as_deref()),
            ("phone", c.phone.as_deref()),
            ("region", rfi.region.as_deref()),
            ("city", rfi.city.as_deref()),
            ("size", rfi.company_size.as_deref()),
            ("kind", Some(rfi.kind.as_str())),
            (
                "hot",
                Some(if rfi.contact_me_directly { "yes" } else { "no" }),
            ),
        ] {
            if let Some(value) = value {
                out.push_str(&format!("  {label:<10}{value}\n"));
            }
        }
        out.push_str(&format!(
            "  need:\n    {}\n",
            rfi.need.replace('\n', "\n    ")
        ));
    }
    if let Some(error) = &explanation.rfi_error {
        out.push_str(&format!("\nnot a usable request: {error}\n"));
    }
    out
}
