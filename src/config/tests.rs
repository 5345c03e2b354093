use super::*;

const SECRET: &str = "test-secret-0123456789";

fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_parts(Some(PathBuf::from("/etc/leadbot.toml")), text, &env)
}

fn minimal() -> String {
    format!("[bot]\nsecret = \"{SECRET}\"\n")
}

#[test]
fn durations_read_as_people_write_them() {
    assert_eq!(parse_duration("14d"), Ok(TimeDelta::days(14)));
    assert_eq!(parse_duration("72h"), Ok(TimeDelta::hours(72)));
    assert_eq!(parse_duration("1h30m"), Ok(TimeDelta::minutes(90)));
    assert_eq!(parse_duration("2w"), Ok(TimeDelta::days(14)));
    for bad in ["", "14", "d", "14x", "0h", "-3d", "99999999999999999w"] {
        assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn defaults_follow_the_design() {
    let config = load(&minimal(), &[]).unwrap();
    assert_eq!(config.schedule.expiry, TimeDelta::days(14));
    assert_eq!(config.schedule.hot_window, TimeDelta::hours(72));
    assert_eq!(config.schedule.first_reminder, TimeDelta::hours(24));
    assert_eq!(config.schedule.final_reminder, TimeDelta::hours(48));
    assert_eq!(config.bot.address.as_str(), "leads@leads.example.test");
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:9898");
    assert!(config.imap.is_none() && config.smtp.is_none());
}

#[test]
fn environment_overrides_the_file() {
    let text = format!(
        "{}staff_domains = [\"microsoft.test\"]\n[schedule]\nexpiry = \"14d\"\n",
        minimal()
    );
    let config = load(
        &text,
        &[
            ("LEADBOT_SCHEDULE_EXPIRY", "7d"),
            ("LEADBOT_BOT_STAFF_DOMAINS", "a.test, b.test"),
            ("DATABASE_URL", "postgres://127.0.0.1/other"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert_eq!(config.schedule.expiry, TimeDelta::days(7));
    assert_eq!(config.bot.staff_domains, ["a.test", "b.test"]);
    assert_eq!(config.database_url.expose(), "postgres://127.0.0.1/other");
}

#[test]
fn registration_fields_are_configured_in_both_languages() {
    let defaults = load(&minimal(), &[]).unwrap().bot.registration_fields;
    assert_eq!(defaults.len(), 4);
    assert_eq!(defaults[2].en, "Final value");
    assert_eq!(defaults[2].fr, "Valeur finale");
    let text = format!(
        "{}registration_fields = [\"Solution\", \"Tenant ID|ID du tenant\"]\n",
        minimal()
    );
    let fields = load(&text, &[]).unwrap().bot.registration_fields;
    assert_eq!(
        fields,
        [
            RegistrationField::parse("Solution"),
            RegistrationField {
                en: "Tenant ID".into(),
                fr: "ID du tenant".into()
            }
        ]
    );
    let from_env = load(
        &minimal(),
        &[("LEADBOT_BOT_REGISTRATION_FIELDS", "Seats|Postes, Solution")],
    )
    .unwrap();
    assert_eq!(from_env.bot.registration_fields[0].fr, "Postes");
    assert_eq!(from_env.bot.registration_fields[1].en, "Solution");
}

#[test]
fn unmatched_requests_go_to_a_fallback_profile_or_an_operator() {
    let defaults = load(&minimal(), &[]).unwrap().bot;
    assert_eq!(
        (defaults.fallback_profile, defaults.operator_address),
        (None, None)
    );
    assert_eq!(defaults.reviewer_locale, defaults.default_locale);
    let text = format!(
        "{}fallback_profile = \"contoso-fr\"\noperator_address = \"ops@example.test\"\n",
        minimal()
    );
    let bot = load(&text, &[("LEADBOT_BOT_REVIEWER_LOCALE", "fr")])
        .unwrap()
        .bot;
    assert_eq!(bot.reviewer_locale, Locale::Fr);
    assert_eq!(bot.fallback_profile.as_deref(), Some("contoso-fr"));
    assert_eq!(
        bot.operator_address.map(|a| a.to_string()).as_deref(),
        Some("ops@example.test")
    );
    let bad = load(&minimal(), &[("LEADBOT_BOT_OPERATOR_ADDRESS", "nobody")]).unwrap_err();
    assert!(
        bad.to_string()
            .contains("`bot.operator_address` = \"nobody\" is invalid"),
        "{bad}"
    );
}

#[test]
fn a_missing_secret_is_named() {
    let error = load("[bot]\naddress = \"leads@x.test\"\n", &[]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "config file /etc/leadbot.toml: `bot.secret` is required: it signs reply tokens \
         (set it in [bot] or LEADBOT_BOT_SECRET)"
    );
}

#[test]
fn a_bad_duration_names_key_and_value() {
    let text = format!("{}[schedule]\nexpiry = \"fortnight\"\n", minimal());
    let message = load(&text, &[]).unwrap_err().to_string();
    assert!(
        message.starts_with(
            "config file /etc/leadbot.toml: `schedule.expiry` = \"fortnight\" is invalid"
        ),
        "{message}"
    );
}

#[test]
fn a_bad_address_names_key_and_value() {
    let text = format!("{}address = \"not-an-address\"\n", minimal());
    let message = load(&text, &[]).unwrap_err().to_string();
    assert!(
        message.contains("`bot.address` = \"not-an-address\" is invalid"),
        "{message}"
    );
}

#[test]
fn unknown_keys_are_typos_worth_reporting() {
    let text = format!("{}secrte = \"x\"\n", minimal());
    let message = load(&text, &[]).unwrap_err().to_string();
    assert!(message.contains("unknown key `bot.secrte`"), "{message}");
    assert!(
        message.contains("keys of [bot]: address, secret"),
        "{message}"
    );

    let message = load(&minimal(), &[("LEADBOT_SMTP_HOTS", "x")])
        .unwrap_err()
        .to_string();
    assert!(message.contains("LEADBOT_SMTP_HOTS"), "{message}");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let text = format!(
        "{}[smtp]\nhost = \"mail.test\"\npassword = \"hunter2-password\"\n",
        minimal()
    );
    let config = load(&text, &[("DATABASE_URL", "postgres://u:dbpass@h/db")]).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(!debug.contains("dbpass"), "{debug}");
}

#[test]
fn invalid_toml_is_reported_with_the_file() {
    let message = load("[bot\nsecret=", &[]).unwrap_err().to_string();
    assert!(
        message.starts_with("config file /etc/leadbot.toml: not valid TOML"),
        "{message}"
    );
}
