//! The life cycle on the real PostgreSQL: each transition with its events, refusals that
//! change nothing, and concurrent replies with exactly one winner.

mod support;

use support::fixtures::{chloe_inquiry, insert_lead};

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadbot::domain::{
    Action, Actor, ContactRole, DealChanges, DeclineReason, LeadContact, LeadId, LeadState, Money,
    TransitionError,
};
use leadbot::store::leads::{self};
use leadbot::workflow::act::{ActError, act};
use support::db::{TestDb, seed_directory};

fn received_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

async fn new_lead(db: &TestDb) -> LeadId {
    insert_lead(&db.pool, &chloe_inquiry(received_at()))
        .await
        .id
}

fn contact(name: &str, email: &str, role: ContactRole) -> Actor {
    Actor::Contact {
        name: name.into(),
        email: email.into(),
        role,
    }
}

fn alice() -> Actor {
    contact(
        "Alice Martin",
        "alice@contoso.test",
        ContactRole::ReferralsAdmin,
    )
}

fn paul() -> Actor {
    contact(
        "Paul Durand",
        "paul@contoso.test",
        ContactRole::PartnerAdmin,
    )
}

fn accept() -> Action {
    Action::Accept {
        deal: DealChanges {
            name: Some("Teams rollout".into()),
            value: Some(Money {
                amount: "25000".parse().unwrap(),
                currency: "EUR".into(),
            }),
            timeframe: Some("Q1 2027".into()),
            ..DealChanges::default()
        },
        contacts: vec![LeadContact {
            name: "Jean Roy".into(),
            phone: Some("+33 6 12 34 56 78".into()),
            email: None,
        }],
    }
}

fn decline() -> Action {
    Action::Decline {
        reason: DeclineReason::NoCapacity,
        notes: None,
    }
}

async fn event_kinds(db: &TestDb, id: LeadId) -> Vec<String> {
    let mut conn = db.pool.acquire().await.unwrap();
    leads::events(&mut conn, id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn load(db: &TestDb, id: LeadId) -> leadbot::domain::Lead {
    let mut conn = db.pool.acquire().await.unwrap();
    leads::load(&mut conn, id).await.unwrap().unwrap()
}

#[tokio::test]
async fn accept_then_won_is_stored_with_its_events() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let id = new_lead(&db).await;
    let at = received_at() + Duration::hours(3);

    act(&db.pool, id, &alice(), accept(), at).await.unwrap();
    let lead = load(&db, id).await;
    assert_eq!(lead.state, LeadState::Accepted);
    assert_eq!(lead.deal.value.unwrap().to_string(), "25,000.00 EUR");
    assert_eq!(lead.deal.timeframe.as_deref(), Some("Q1 2027"));
    assert_eq!(lead.contacts[0].name, "Jean Roy");
    assert_eq!(lead.first_response_at, Some(at));

    act(
        &db.pool,
        id,
        &paul(),
        Action::Won { notes: None },
        at + Duration::days(20),
    )
    .await
    .unwrap();
    let lead = load(&db, id).await;
    assert_eq!(lead.state, LeadState::Won);
    assert_eq!(lead.closed_at, Some(at + Duration::days(20)));
    assert_eq!(
        lead.first_response_at,
        Some(at),
        "first response stays the first"
    );
    assert_eq!(event_kinds(&db, id).await, ["received", "accepted", "won"]);

    let mut conn = db.pool.acquire().await.unwrap();
    let events = leads::events(&mut conn, id).await.unwrap();
    assert_eq!(events[1].actor, "Alice Martin <alice@contoso.test>");
    assert_eq!(events[2].actor, "Paul Durand <paul@contoso.test>");
}

#[tokio::test]
async fn decline_lost_expire_edit_contact_and_favorite_are_stored() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let now = received_at() + Duration::hours(1);

    let declined = new_lead(&db).await;
    act(&db.pool, declined, &alice(), decline(), now)
        .await
        .unwrap();
    let lead = load(&db, declined).await;
    assert_eq!(lead.state, LeadState::Declined);
    assert_eq!(lead.decline.unwrap().reason, DeclineReason::NoCapacity);
    assert_eq!(event_kinds(&db, declined).await, ["received", "declined"]);

    let expired = new_lead(&db).await;
    act(
        &db.pool,
        expired,
        &Actor::Scheduler,
        Action::Expire,
        now + Duration::days(14),
    )
    .await
    .unwrap();
    assert_eq!(load(&db, expired).await.state, LeadState::Expired);
    assert_eq!(load(&db, expired).await.first_response_at, None);
    assert_eq!(event_kinds(&db, expired).await, ["received", "expired"]);

    let lost = new_lead(&db).await;
    act(&db.pool, lost, &alice(), accept(), now).await.unwrap();
    let edit = Action::Edit {
        deal: DealChanges {
            crm_id: Some("CRM-77".into()),
            ..DealChanges::default()
        },
    };
    act(&db.pool, lost, &alice(), edit, now).await.unwrap();
    let extra = Action::AddContact(LeadContact {
        name: "Zoé Blanc".into(),
        phone: None,
        email: Some("zoe@client.test".into()),
    });
    act(&db.pool, lost, &alice(), extra, now).await.unwrap();
    act(&db.pool, lost, &alice(), Action::SetFavorite(true), now)
        .await
        .unwrap();
    act(
        &db.pool,
        lost,
        &alice(),
        Action::Lost {
            notes: Some("budget cut".into()),
        },
        now,
    )
    .await
    .unwrap();
    let lead = load(&db, lost).await;
    assert_eq!(lead.state, LeadState::Lost);
    assert_eq!(lead.deal.crm_id.as_deref(), Some("CRM-77"));
    assert_eq!(
        lead.deal.name.as_deref(),
        Some("Teams rollout"),
        "edit kept other fields"
    );
    let names: Vec<_> = lead.contacts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Jean Roy", "Zoé Blanc"]);
    assert!(lead.favorite);
    assert_eq!(
        event_kinds(&db, lost).await,
        [
            "received",
            "accepted",
            "edited",
            "contact_added",
            "favorited",
            "lost"
        ]
    );
}

#[tokio::test]
async fn a_refused_action_changes_nothing() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let id = new_lead(&db).await;
    let before = load(&db, id).await;

    let error = act(
        &db.pool,
        id,
        &alice(),
        Action::Won { notes: None },
        received_at(),
    )
    .await
    .unwrap_err();
    assert!(matches!(
        error,
        ActError::Refused(TransitionError::NotAllowed { .. })
    ));
    let member = contact("Marc Petit", "marc@contoso.test", ContactRole::Member);
    let error = act(&db.pool, id, &member, accept(), received_at())
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        ActError::Refused(TransitionError::MemberCannotAct { .. })
    ));
    assert_eq!(load(&db, id).await, before);
    assert_eq!(event_kinds(&db, id).await, ["received"]);

    let error = act(&db.pool, LeadId(999_999), &alice(), accept(), received_at())
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "lead L-999999 does not exist");
}

#[tokio::test]
async fn the_second_replier_is_told_who_acted_first() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let id = new_lead(&db).await;
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 10, 42, 0).unwrap();
    act(&db.pool, id, &alice(), accept(), at).await.unwrap();
    let error = act(&db.pool, id, &paul(), decline(), at + Duration::minutes(5))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "DECLINE is no longer possible: the lead was already accepted by \
         Alice Martin <alice@contoso.test> at 2026-11-02 10:42 UTC"
    );
}

#[tokio::test]
async fn accept_and_decline_racing_end_with_exactly_one_winner_every_time() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let mut wins = [0usize; 2];
    for round in 0..100 {
        let id = new_lead(&db).await;
        let now = received_at() + Duration::hours(1);
        let (pool_a, pool_b) = (db.pool.clone(), db.pool.clone());
        let accepting =
            tokio::spawn(async move { act(&pool_a, id, &alice(), accept(), now).await });
        let declining =
            tokio::spawn(async move { act(&pool_b, id, &paul(), decline(), now).await });
        let (accepted, declined) = (accepting.await.unwrap(), declining.await.unwrap());

        let lead = load(&db, id).await;
        let (winner, loser, expected_state, by) = match (&accepted, &declined) {
            (Ok(_), Err(e)) => (0, e, LeadState::Accepted, "Alice Martin"),
            (Err(e), Ok(_)) => (1, e, LeadState::Declined, "Paul Durand"),
            other => panic!("round {round}: not exactly one winner: {other:?}"),
        };
        wins[winner] += 1;
        assert_eq!(lead.state, expected_state, "round {round}");
        match loser {
            ActError::AlreadyActed { state, by: who, .. } => {
                assert_eq!(*state, expected_state, "round {round}");
                assert!(who.starts_with(by), "round {round}: {who}");
            }
            other => panic!("round {round}: loser got {other:?}"),
        }
        assert_eq!(
            event_kinds(&db, id).await.len(),
            2,
            "round {round}: one event each"
        );
    }
    eprintln!(
        "accept won {} times, decline won {} times",
        wins[0], wins[1]
    );
}
