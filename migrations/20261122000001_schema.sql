-- leadbot's schema. One principle: every inbound message is handled in one transaction that
-- records the message, changes the lead, appends its events and queues the outbound mail.

-- Partners, their business profiles (where leads are routed) and their contacts.
CREATE TABLE partners (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE profiles (
    id             text PRIMARY KEY,
    partner_id     text NOT NULL REFERENCES partners (id),
    address        text NOT NULL UNIQUE CHECK (address = lower(address)),
    regions        text[] NOT NULL DEFAULT '{}',
    keywords       text[] NOT NULL DEFAULT '{}',
    company_sizes  text[] NOT NULL DEFAULT '{}',
    locale         text NOT NULL DEFAULT 'en',
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX profiles_partner ON profiles (partner_id);

CREATE TABLE contacts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id  text NOT NULL REFERENCES partners (id),
    email       text NOT NULL UNIQUE CHECK (email = lower(email)),
    name        text NOT NULL,
    phone       text,
    role        text NOT NULL CHECK (role IN ('partner_admin', 'referrals_admin', 'member')),
    locale      text NOT NULL DEFAULT 'en',
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_partner ON contacts (partner_id);

-- The contacts who receive a profile's leads.
CREATE TABLE profile_contacts (
    profile_id  text NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    contact_id  bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (profile_id, contact_id)
);
CREATE INDEX profile_contacts_contact ON profile_contacts (contact_id);

-- Every message that reached leadbot, kept whole so an operator can inspect and re-process it.
CREATE TABLE inbound_messages (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Message-ID when there is one, else a hash of the raw bytes: re-delivery is a no-op.
    idempotency_key  text NOT NULL UNIQUE,
    message_id       text,
    source           text NOT NULL,                 -- imap:<mailbox>, deliver, demo, ...
    received_at      timestamptz NOT NULL DEFAULT now(),
    raw              bytea NOT NULL,
    sender           text,
    subject          text,
    class            text,                           -- request, reply, bounce, auto_reply, list
    parsed           jsonb,                          -- what the parser made of it
    outcome          text NOT NULL DEFAULT 'pending'
                     CHECK (outcome IN ('pending', 'applied', 'answered', 'automated', 'quarantined', 'ignored')),
    reason           text,
    lead_id          bigint,
    processed_at     timestamptz
);
CREATE INDEX inbound_quarantined ON inbound_messages (received_at) WHERE outcome = 'quarantined';
CREATE INDEX inbound_message_id ON inbound_messages (message_id);

CREATE SEQUENCE lead_numbers START 1000;

CREATE TABLE leads (
    id                    bigint PRIMARY KEY DEFAULT nextval('lead_numbers'),
    kind                  text NOT NULL
                          CHECK (kind IN ('customer_inquiry', 'marketing_qualified', 'sales_qualified')),
    state                 text NOT NULL
                          CHECK (state IN ('received', 'accepted', 'declined', 'expired', 'won', 'lost')),
    partner_id            text NOT NULL REFERENCES partners (id),
    profile_id            text NOT NULL REFERENCES profiles (id),
    customer_name         text,
    customer_email        text,
    customer_company      text,
    customer_phone        text,
    customer_region       text,
    customer_company_size text,
    customer_locale       text,
    need                  text NOT NULL,
    hot_until             timestamptz,
    favorite              boolean NOT NULL DEFAULT false,
    deal_name             text,
    deal_value            numeric(16, 2) CHECK (deal_value > 0),
    deal_currency         text CHECK (deal_currency ~ '^[A-Z]{3}$'),
    deal_timeframe        text,
    deal_notes            text,
    deal_crm_id           text,
    deal_campaign_id      text,
    decline_reason        text,
    decline_notes         text,
    referrer_kind         text CHECK (referrer_kind IN ('staff', 'partner')),
    referrer_email        text,
    referrer_name         text,
    registration          jsonb,
    source_message_id     bigint REFERENCES inbound_messages (id),
    received_at           timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    first_response_at     timestamptz,
    closed_at             timestamptz,
    -- Scheduler markers: each timed rule fires once.
    first_reminder_at     timestamptz,
    final_reminder_at     timestamptz,
    hot_closed_at         timestamptz,
    version               integer NOT NULL DEFAULT 0,
    CHECK ((deal_value IS NULL) = (deal_currency IS NULL)),
    -- One lead per profile per message (one message to several profiles: one lead each).
    UNIQUE (source_message_id, profile_id)
);
CREATE INDEX leads_state ON leads (state);
CREATE INDEX leads_profile ON leads (profile_id, received_at);
CREATE INDEX leads_partner ON leads (partner_id, received_at);
CREATE INDEX leads_open_expiry ON leads (expires_at) WHERE state = 'received';
CREATE INDEX leads_hot ON leads (hot_until) WHERE hot_closed_at IS NULL AND hot_until IS NOT NULL;

CREATE TABLE lead_contacts (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id   bigint NOT NULL REFERENCES leads (id),
    name      text NOT NULL,
    phone     text,
    email     text,
    added_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_contacts_lead ON lead_contacts (lead_id);

-- Append-only history of each lead.
CREATE TABLE lead_events (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id  bigint NOT NULL REFERENCES leads (id),
    at       timestamptz NOT NULL,
    kind     text NOT NULL,
    actor    text NOT NULL,
    data     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX lead_events_lead ON lead_events (lead_id, id);
CREATE INDEX lead_events_kind_at ON lead_events (kind, at);

-- The outbox: mail is written here in the transaction that causes it, then sent by a worker.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id      bigint REFERENCES leads (id),
    template     text NOT NULL,
    recipient    text NOT NULL,
    subject      text NOT NULL,
    message_id   text NOT NULL UNIQUE,
    reply_to     text,
    in_reply_to  text,
    refs         text[] NOT NULL DEFAULT '{}',
    text_body    text NOT NULL,
    html_body    text,
    -- queued → sent, or failed once permanent (5xx) or out of attempts (the dead state).
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    run_at       timestamptz NOT NULL DEFAULT now(),
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
CREATE INDEX outbox_due ON outbox (run_at) WHERE state = 'queued';
CREATE INDEX outbox_lead ON outbox (lead_id);

-- Where the IMAP listener stopped, per mailbox.
CREATE TABLE imap_checkpoints (
    mailbox       text PRIMARY KEY,
    uid_validity  bigint NOT NULL,
    last_uid      bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Error answers are rate-limited per sender and kind.
CREATE TABLE answer_limits (
    sender        text NOT NULL,
    kind          text NOT NULL,
    window_start  timestamptz NOT NULL,
    answers       integer NOT NULL,
    PRIMARY KEY (sender, kind)
);

-- Digests sent, so a digest goes out once per partner admin per day.
CREATE TABLE digests_sent (
    contact_id  bigint NOT NULL REFERENCES contacts (id),
    day         date NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contact_id, day)
);
