use super::*;
use crate::domain::lead::{Customer, LeadId, Referrer, ReferrerKind};
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 42, 0).unwrap()
}

fn lead_in(state: LeadState) -> Lead {
    let received_at = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
    Lead {
        id: LeadId(1042),
        kind: LeadKind::CustomerInquiry,
        state,
        partner_id: "contoso".into(),
        profile_id: "contoso-fr".into(),
        customer: Customer {
            name: Some("Chloé Dubois".into()),
            email: Some("chloe@client.test".into()),
            company: Some("Fabrikam".into()),
            phone: None,
        },
        context: Default::default(),
        need: "Migrate 200 mailboxes to Teams".into(),
        hot_until: None,
        favorite: false,
        deal: Deal::default(),
        decline: None,
        contacts: vec![],
        referrer: None,
        registration: None,
        received_at,
        expires_at: received_at + chrono::Duration::days(14),
        first_response_at: None,
        closed_at: None,
        version: 3,
    }
}

fn alice() -> Actor {
    Actor::Contact {
        name: "Alice Martin".into(),
        email: "alice@contoso.test".into(),
        role: ContactRole::ReferralsAdmin,
    }
}

fn member() -> Actor {
    Actor::Contact {
        name: "Marc Petit".into(),
        email: "marc@contoso.test".into(),
        role: ContactRole::Member,
    }
}

fn reviewer() -> Actor {
    Actor::Reviewer {
        email: "deals@microsoft.test".into(),
    }
}

fn accept() -> Action {
    Action::Accept {
        deal: DealChanges {
            name: Some("Teams rollout".into()),
            value: Some(Money {
                amount: "25000".parse().unwrap(),
                currency: "EUR".into(),
            }),
            ..DealChanges::default()
        },
        contacts: vec![LeadContact {
            name: "Jean Roy".into(),
            phone: Some("+33 6 00 00 00 00".into()),
            email: None,
        }],
    }
}

fn edit() -> Action {
    Action::Edit {
        deal: DealChanges {
            timeframe: Some("Q2 2027".into()),
            ..DealChanges::default()
        },
    }
}

fn decline() -> Action {
    Action::Decline {
        reason: DeclineReason::NoCapacity,
        notes: Some("Fully booked until March".into()),
    }
}

fn register() -> Action {
    Action::Register {
        fields: vec![("Solution".into(), "Azure migration".into())],
    }
}

fn contact_action() -> Action {
    Action::AddContact(LeadContact {
        name: "Jean Roy".into(),
        phone: None,
        email: Some("jean@client.test".into()),
    })
}

/// Every action with the actor that would normally send it.
fn every_action() -> Vec<(Actor, Action)> {
    vec![
        (alice(), accept()),
        (alice(), decline()),
        (alice(), Action::Won { notes: None }),
        (alice(), Action::Lost { notes: None }),
        (alice(), edit()),
        (alice(), contact_action()),
        (alice(), Action::SetFavorite(true)),
        (alice(), register()),
        (
            alice(),
            Action::AnswerReviewer {
                answer: "yes".into(),
            },
        ),
        (reviewer(), Action::Review(ReviewVerdict::Approve)),
        (Actor::Scheduler, Action::Expire),
    ]
}

/// The legal moves: (state, action) → state after. Everything not listed is illegal.
fn legal(state: LeadState, action: &Action) -> Option<LeadState> {
    use LeadState::*;
    match (state, action) {
        (Received, Action::Accept { .. }) => Some(Accepted),
        (Received, Action::Decline { .. }) => Some(Declined),
        (Received, Action::Expire) => Some(Expired),
        (Accepted, Action::Won { .. }) => Some(Won),
        (Accepted, Action::Lost { .. }) => Some(Lost),
        (Received | Accepted, Action::Edit { .. } | Action::AddContact(_)) => Some(state),
        (_, Action::SetFavorite(_)) => Some(state),
        (Won, Action::Register { .. }) => Some(Won),
        _ => None,
    }
}

#[test]
fn every_state_and_action_pair_is_legal_or_a_typed_error() {
    for state in LeadState::ALL {
        for (actor, action) in every_action() {
            let result = apply(&lead_in(*state), &actor, action.clone(), now());
            match (legal(*state, &action), result) {
                (Some(expected), Ok(outcome)) => {
                    assert_eq!(outcome.lead.state, expected, "{state} + {}", action.name());
                    assert_eq!(outcome.lead.version, 4, "{state} + {}", action.name());
                    assert!(!outcome.events.is_empty());
                }
                (None, Err(error)) => {
                    let is_closed = state.is_closed();
                    match error {
                        TransitionError::Closed { .. } => assert!(is_closed),
                        TransitionError::NotAllowed { .. } => assert!(!is_closed),
                        TransitionError::RegistrationNotPending { .. } => {
                            assert_eq!(*state, LeadState::Won)
                        }
                        other => panic!("{state} + {}: unexpected {other}", action.name()),
                    }
                }
                (expected, result) => panic!(
                    "{state} + {}: expected {expected:?}, got {result:?}",
                    action.name()
                ),
            }
        }
    }
}

#[test]
fn accept_records_the_deal_contacts_and_first_response() {
    let outcome = apply(&lead_in(LeadState::Received), &alice(), accept(), now()).unwrap();
    let lead = outcome.lead;
    assert_eq!(lead.state, LeadState::Accepted);
    assert_eq!(lead.deal.name.as_deref(), Some("Teams rollout"));
    assert_eq!(lead.deal.value.unwrap().to_string(), "25,000.00 EUR");
    assert_eq!(lead.contacts.len(), 1);
    assert_eq!(lead.first_response_at, Some(now()));
    assert_eq!(lead.closed_at, None);
    assert_eq!(outcome.events[0].kind, EventKind::Accepted);
    assert_eq!(outcome.events[0].actor, "Alice Martin <alice@contoso.test>");
    assert!(outcome.notices.is_empty());
}

#[test]
fn declining_an_inquiry_tells_the_customer_to_choose_another_partner() {
    let outcome = apply(&lead_in(LeadState::Received), &alice(), decline(), now()).unwrap();
    assert_eq!(outcome.lead.state, LeadState::Declined);
    assert_eq!(outcome.lead.closed_at, Some(now()));
    assert_eq!(
        outcome.lead.decline.unwrap().reason,
        DeclineReason::NoCapacity
    );
    assert_eq!(outcome.notices, [Notice::CustomerDeclined]);
}

#[test]
fn declining_a_referred_lead_tells_the_referrer_not_the_customer() {
    let mut lead = lead_in(LeadState::Received);
    lead.kind = LeadKind::SalesQualified;
    lead.referrer = Some(Referrer {
        kind: ReferrerKind::Staff,
        email: "sam@microsoft.test".into(),
        name: None,
    });
    let outcome = apply(&lead, &alice(), decline(), now()).unwrap();
    assert_eq!(outcome.notices, [Notice::ReferrerClosed]);
}

#[test]
fn expiry_tells_contacts_and_the_customer_or_the_referrer() {
    let inquiry = apply(
        &lead_in(LeadState::Received),
        &Actor::Scheduler,
        Action::Expire,
        now(),
    )
    .unwrap();
    assert_eq!(
        inquiry.notices,
        [Notice::ContactsExpired, Notice::CustomerExpired]
    );
    assert_eq!(
        inquiry.lead.first_response_at, None,
        "expiry is no response"
    );

    let mut qualified = lead_in(LeadState::Received);
    qualified.kind = LeadKind::MarketingQualified;
    qualified.referrer = Some(Referrer {
        kind: ReferrerKind::Staff,
        email: "sam@microsoft.test".into(),
        name: None,
    });
    let outcome = apply(&qualified, &Actor::Scheduler, Action::Expire, now()).unwrap();
    assert_eq!(
        outcome.notices,
        [Notice::ContactsExpired, Notice::ReferrerExpired]
    );
}

#[test]
fn won_on_a_received_lead_is_refused_with_the_state() {
    let error = apply(
        &lead_in(LeadState::Received),
        &alice(),
        Action::Won { notes: None },
        now(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "WON is not possible while the lead is received"
    );
}

#[test]
fn a_closed_lead_takes_no_more_actions() {
    let error = apply(&lead_in(LeadState::Lost), &alice(), edit(), now()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the lead is lost: it is closed and takes no more actions"
    );
}

#[test]
fn members_cannot_act_on_any_lead() {
    for (_, action) in every_action()
        .into_iter()
        .filter(|(actor, _)| *actor == alice())
    {
        let error = apply(&lead_in(LeadState::Received), &member(), action, now())
            .expect_err("a member acted");
        assert!(matches!(error, TransitionError::MemberCannotAct { .. }));
    }
}

#[test]
fn only_the_scheduler_expires_and_only_reviewers_review() {
    let error = apply(
        &lead_in(LeadState::Received),
        &alice(),
        Action::Expire,
        now(),
    )
    .unwrap_err();
    assert!(matches!(error, TransitionError::WrongActor { .. }));
    let mut won = lead_in(LeadState::Won);
    won.registration = Some(Registration {
        status: RegistrationStatus::Submitted,
        fields: vec![],
        review_note: None,
    });
    let error = apply(
        &won,
        &alice(),
        Action::Review(ReviewVerdict::Approve),
        now(),
    )
    .unwrap_err();
    assert!(matches!(error, TransitionError::WrongActor { .. }));
}

#[test]
fn edit_without_fields_changes_nothing() {
    let error = apply(
        &lead_in(LeadState::Accepted),
        &alice(),
        Action::Edit {
            deal: DealChanges::default(),
        },
        now(),
    )
    .unwrap_err();
    assert_eq!(error, TransitionError::NothingToEdit);
}

#[test]
fn favorite_twice_records_one_event() {
    let first = apply(
        &lead_in(LeadState::Won),
        &alice(),
        Action::SetFavorite(true),
        now(),
    )
    .unwrap();
    assert!(first.lead.favorite);
    let second = apply(&first.lead, &alice(), Action::SetFavorite(true), now()).unwrap();
    assert!(second.changed_nothing());
    assert_eq!(second.lead.version, first.lead.version);
}

#[test]
fn registration_goes_to_review_and_back() {
    let won = lead_in(LeadState::Won);
    let submitted = apply(&won, &alice(), register(), now()).unwrap();
    assert_eq!(submitted.notices, [Notice::RegistrationForReview]);
    let error = apply(&submitted.lead, &alice(), register(), now()).unwrap_err();
    assert!(matches!(
        error,
        TransitionError::RegistrationNotPending { .. }
    ));

    let question = apply(
        &submitted.lead,
        &reviewer(),
        Action::Review(ReviewVerdict::RequestInfo {
            question: "Which subscription?".into(),
        }),
        now(),
    )
    .unwrap();
    let registration = question.lead.registration.clone().unwrap();
    assert_eq!(registration.status, RegistrationStatus::InfoRequested);
    assert_eq!(
        registration.review_note.as_deref(),
        Some("Which subscription?")
    );
    assert_eq!(allowed_next(&question.lead), ["ANSWER", "FAVORITE"]);

    let answered = apply(
        &question.lead,
        &alice(),
        Action::AnswerReviewer {
            answer: "Pay-as-you-go".into(),
        },
        now(),
    )
    .unwrap();
    let approved = apply(
        &answered.lead,
        &reviewer(),
        Action::Review(ReviewVerdict::Approve),
        now(),
    )
    .unwrap();
    assert_eq!(
        approved.lead.registration.unwrap().status,
        RegistrationStatus::Approved
    );
    assert_eq!(approved.notices, [Notice::RegistrationReviewed]);
}

#[test]
fn allowed_next_follows_the_state() {
    assert_eq!(
        allowed_next(&lead_in(LeadState::Received)),
        ["ACCEPT", "DECLINE", "EDIT", "CONTACT", "FAVORITE"]
    );
    assert_eq!(
        allowed_next(&lead_in(LeadState::Accepted)),
        ["WON", "LOST", "EDIT", "CONTACT", "FAVORITE"]
    );
    assert_eq!(
        allowed_next(&lead_in(LeadState::Won)),
        ["REGISTER", "FAVORITE"]
    );
    assert_eq!(allowed_next(&lead_in(LeadState::Expired)), ["FAVORITE"]);
}
