//! TLS against real Dovecot and Postfix, with a CA the harness makes: IMAP over TLS and
//! STARTTLS, SMTP over STARTTLS and TLS, trusted through `imap.ca_file` / `smtp.ca_file`.
//! A certificate for another name, or from an unknown CA, is refused with a clear error.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use leadbot::config::{ImapConfig, Secret, Security, SmtpConfig};
use leadbot::domain::EmailAddress;
use leadbot::transport::imap::ImapMailbox;
use leadbot::transport::smtp::SmtpTransport;
use support::MailStack;
use support::leadbot::{run, stdout};

const BOT: &str = "leads@leads.example.test";
const PASSWORD: &str = "bot-password";
const STEP: Duration = Duration::from_secs(10);

fn imap(host: &str, port: u16, security: Security, ca_file: Option<PathBuf>) -> ImapConfig {
    ImapConfig {
        host: host.into(),
        port,
        security,
        username: BOT.into(),
        password: Secret::new(PASSWORD),
        mailbox: "INBOX".into(),
        quarantine_mailbox: "Quarantine".into(),
        ca_file,
    }
}

fn smtp(host: &str, port: u16, security: Security, ca_file: Option<PathBuf>) -> SmtpConfig {
    SmtpConfig {
        host: host.into(),
        port,
        security,
        username: None,
        password: Secret::new(""),
        max_attempts: 3,
        ca_file,
        connections: 1,
    }
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[tokio::test]
async fn imap_over_tls_and_starttls_with_a_private_ca() {
    let stack = MailStack::start_with_tls().await;
    stack.add_user(BOT, PASSWORD);
    let ca = Some(stack.ca_file());
    for config in [
        imap("127.0.0.1", stack.imaps_port(), Security::Tls, ca.clone()),
        imap(
            "127.0.0.1",
            stack.imap_port(),
            Security::StartTls,
            ca.clone(),
        ),
    ] {
        let mailbox = ImapMailbox::connect(&config, STEP)
            .await
            .unwrap_or_else(|e| panic!("{:?}: {}\n{}", config.security, chain(&e), stack.logs()));
        assert_eq!(mailbox.name(), "INBOX");
        let _ = mailbox.logout().await;
    }

    // Another name than the certificate's: refused, said plainly, and not retried forever.
    let wrong_name = imap("localhost", stack.imaps_port(), Security::Tls, ca.clone());
    let error = ImapMailbox::connect(&wrong_name, STEP)
        .await
        .expect_err("a certificate for 127.0.0.1 does not do for localhost");
    let said = chain(&error);
    assert!(
        said.contains("TLS handshake with the IMAP server localhost failed"),
        "{said}"
    );
    assert!(said.contains("not valid for name"), "{said}");
    assert!(!error.is_transient(), "{said}");

    // Without the private CA the certificate's issuer is unknown.
    let public_roots_only = imap("127.0.0.1", stack.imaps_port(), Security::Tls, None);
    let error = ImapMailbox::connect(&public_roots_only, STEP)
        .await
        .expect_err("an unknown CA is refused");
    assert!(chain(&error).contains("UnknownIssuer"), "{}", chain(&error));
}

#[tokio::test]
async fn smtp_over_starttls_and_tls_with_a_private_ca() {
    let stack = MailStack::start_with_tls().await;
    stack.add_user("alice@contoso.test", PASSWORD);
    let ca = Some(stack.ca_file());
    let from = EmailAddress::parse(BOT).unwrap();
    let alice = EmailAddress::parse("alice@contoso.test").unwrap();
    for (security, port) in [
        (Security::StartTls, stack.smtp_port()),
        (Security::Tls, stack.smtps_port()),
    ] {
        let transport = SmtpTransport::new(&smtp("127.0.0.1", port, security, ca.clone()))
            .expect("SMTP set up");
        let subject = format!("over {security:?}");
        let raw = format!(
            "From: {BOT}\r\nTo: alice@contoso.test\r\nSubject: {subject}\r\n\
             Message-ID: <{security:?}@leads.example.test>\r\n\r\nHello\r\n"
        );
        transport
            .send(&from, &alice, raw.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{security:?}: {}\n{}", chain(&e), stack.logs()));
        let needle = subject.clone();
        stack
            .wait_for(
                "alice@contoso.test",
                PASSWORD,
                "INBOX",
                |raw| String::from_utf8_lossy(raw).contains(&needle),
                MailStack::DEFAULT_TIMEOUT,
            )
            .await;
    }
    let received = stack.logs();
    assert!(
        received.contains("TLS connection established"),
        "Postfix logged no TLS session:\n{received}"
    );

    let wrong_name = SmtpTransport::new(&smtp("localhost", stack.smtps_port(), Security::Tls, ca))
        .expect("SMTP set up");
    let refused = wrong_name
        .check()
        .await
        .expect_err("localhost is not 127.0.0.1");
    assert!(refused.starts_with("TLS failed"), "{refused}");
    assert!(refused.contains("not valid for name"), "{refused}");
}

#[tokio::test]
async fn the_ca_file_keys_reach_imap_and_smtp_through_the_configuration() {
    let stack = MailStack::start_with_tls().await;
    stack.add_user(BOT, PASSWORD);
    let db = support::db::TestDb::new().await;
    let mut env = db.env();
    let ca = stack.ca_file().display().to_string();
    for (key, value) in [
        ("LEADBOT_IMAP_HOST", "127.0.0.1".to_string()),
        ("LEADBOT_IMAP_PORT", stack.imaps_port().to_string()),
        ("LEADBOT_IMAP_SECURITY", "tls".into()),
        ("LEADBOT_IMAP_USERNAME", BOT.into()),
        ("LEADBOT_IMAP_PASSWORD", PASSWORD.into()),
        ("LEADBOT_IMAP_CA_FILE", ca.clone()),
        ("LEADBOT_SMTP_HOST", "127.0.0.1".into()),
        ("LEADBOT_SMTP_PORT", stack.smtp_port().to_string()),
        ("LEADBOT_SMTP_SECURITY", "starttls".into()),
        ("LEADBOT_SMTP_CA_FILE", ca),
    ] {
        env.push((key.into(), value));
    }
    let output = run(&env, &["check"]);
    let text = stdout(&output);
    for part in ["imap", "smtp"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("pass") && l.contains(part)),
            "{part}: {text}"
        );
    }
    // Without the CA both refuse the certificate, and say it is about TLS.
    let without: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| !k.ends_with("_CA_FILE"))
        .collect();
    let text = stdout(&run(&without, &["check"]));
    for part in ["imap", "smtp"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("FAIL") && l.contains(part) && l.contains("TLS")),
            "{part}: {text}"
        );
    }
}
