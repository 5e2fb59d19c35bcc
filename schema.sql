-- Frontdesk schema. Idempotent: applied at every start of the engine (CREATE ... IF NOT EXISTS),
-- so an existing database is left as it is and a new one is made whole. Every id is a UUID made
-- by the engine; times are timestamptz (UTC on the wire).

-- Queues: where customers start chats. `opening_hours` is the schedule of core/hours.py
-- ({"always": true} when absent); `identity_secret` keys the HMAC of verified customers.
CREATE TABLE IF NOT EXISTS queues (
    name             text PRIMARY KEY,
    title            text NOT NULL DEFAULT '',
    language         text NOT NULL DEFAULT 'english',      -- text-search configuration for FAQ
    opening_hours    jsonb NOT NULL DEFAULT '{"always": true}',
    closed_message   text NOT NULL DEFAULT 'We are not available right now. Please leave us a message.',
    faq_suggestions  boolean NOT NULL DEFAULT false,
    identity_secret  text,
    required_fields  jsonb NOT NULL DEFAULT '[]',
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Any change to queues is announced on the channel 'frontdesk_queues': engines reload their
-- queue settings (opening hours, messages, flags) at once when a supervisor edits them.
CREATE OR REPLACE FUNCTION frontdesk_queues_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('frontdesk_queues', '');
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER queues_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON queues
    FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_queues_changed();

-- People who sign in: agents (take chats) and supervisors (dashboard, every transcript).
-- `presence` is the state the agent last chose (available | away): restored at next sign-in.
CREATE TABLE IF NOT EXISTS staff (
    id             uuid PRIMARY KEY,
    role           text NOT NULL CHECK (role IN ('agent', 'supervisor')),
    email          text NOT NULL,
    name           text NOT NULL,
    password_hash  text NOT NULL,
    capacity       integer NOT NULL DEFAULT 3 CHECK (capacity >= 0),
    presence       text NOT NULL DEFAULT 'available' CHECK (presence IN ('available', 'away')),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS staff_email_key ON staff (lower(email));

CREATE TABLE IF NOT EXISTS queue_members (
    queue     text NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
    staff_id  uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    PRIMARY KEY (queue, staff_id)
);

-- Bearer tokens. Only a SHA-256 of the token is stored; the token itself is shown once.
-- Customer tokens are bound to their one conversation.
CREATE TABLE IF NOT EXISTS tokens (
    token_hash       bytea PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('agent', 'supervisor', 'customer')),
    subject_id       uuid NOT NULL,          -- staff id, or the conversation id for customers
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tokens_expires_idx ON tokens (expires_at);

-- Conversations. `queue_key` orders the waiting line of a queue (smaller = earlier); a chat
-- that returns to the head of its queue gets a key below every other.
CREATE TABLE IF NOT EXISTS conversations (
    id                 uuid PRIMARY KEY,
    queue              text NOT NULL REFERENCES queues (name),
    status             text NOT NULL CHECK (status IN ('queued', 'active', 'ended')),
    customer_name      text NOT NULL,
    customer_email     text NOT NULL,
    customer_verified  text[] NOT NULL DEFAULT '{}',
    fields             jsonb NOT NULL DEFAULT '{}',
    queue_key          bigint NOT NULL,
    owner_id           uuid REFERENCES staff (id),
    customer_read_seq  integer NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    accepted_at        timestamptz,
    ended_at           timestamptz,
    ended_by           text,
    end_reason         text
);
CREATE INDEX IF NOT EXISTS conversations_open_idx ON conversations (status, queue, queue_key)
    WHERE status <> 'ended';
-- Set when the conversation's actor kept crashing and was parked: a supervisor looks at it.
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS parked_at timestamptz;
CREATE INDEX IF NOT EXISTS conversations_created_idx ON conversations (created_at);

-- Messages: immutable once written. seq is 1, 2, 3, ... per conversation with no gaps; a
-- sender's client_id is stored once per conversation (the unique key makes a retried send
-- after a crash land once).
CREATE TABLE IF NOT EXISTS messages (
    id               uuid PRIMARY KEY,
    conversation_id  uuid NOT NULL REFERENCES conversations (id),
    seq              integer NOT NULL,
    sender_kind      text NOT NULL CHECK (sender_kind IN ('customer', 'agent', 'system')),
    sender_id        uuid,
    sender_name      text NOT NULL,
    sender_key       text NOT NULL,          -- 'customer' or the agent id: scope of client_id
    client_id        text,
    text             text NOT NULL,
    private          boolean NOT NULL DEFAULT false,
    attachments      jsonb NOT NULL DEFAULT '[]',
    options          jsonb,
    option_id        text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_client_id_key
    ON messages (conversation_id, sender_key, client_id) WHERE client_id IS NOT NULL;

-- Uploaded files. The bytes live under <data dir>/uploads/<id>; a row without message_id is an
-- upload not yet sent (removed after a day). uploader_id is the staff id, or the conversation
-- id for a customer's upload.
CREATE TABLE IF NOT EXISTS attachments (
    id               uuid PRIMARY KEY,
    uploader_kind    text NOT NULL CHECK (uploader_kind IN ('agent', 'customer')),
    uploader_id      uuid NOT NULL,
    filename         text NOT NULL,
    content_type     text NOT NULL,
    size             bigint NOT NULL,
    sha256           text NOT NULL,
    conversation_id  uuid REFERENCES conversations (id),
    message_id       uuid,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS attachments_unsent_idx ON attachments (created_at) WHERE message_id IS NULL;
CREATE INDEX IF NOT EXISTS attachments_message_idx ON attachments (message_id);

-- Agents in a conversation: the owner (who accepted it) and invited colleagues.
CREATE TABLE IF NOT EXISTS participants (
    conversation_id  uuid NOT NULL REFERENCES conversations (id),
    agent_id         uuid NOT NULL REFERENCES staff (id),
    role             text NOT NULL CHECK (role IN ('owner', 'invited')),
    joined_at        timestamptz NOT NULL DEFAULT now(),
    left_at          timestamptz,
    last_read_seq    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, agent_id)
);
CREATE INDEX IF NOT EXISTS participants_agent_idx ON participants (agent_id) WHERE left_at IS NULL;

-- Every offer and its outcome (the dashboard's "offered to X, rejected by Y" log and reports).
CREATE TABLE IF NOT EXISTS offers (
    id               uuid PRIMARY KEY,
    conversation_id  uuid NOT NULL REFERENCES conversations (id),
    agent_id         uuid NOT NULL REFERENCES staff (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    outcome          text CHECK (outcome IN ('accepted', 'rejected', 'expired', 'revoked', 'void')),
    reason           text,
    decided_at       timestamptz
);
CREATE INDEX IF NOT EXISTS offers_conversation_idx ON offers (conversation_id);
CREATE INDEX IF NOT EXISTS offers_agent_idx ON offers (agent_id, created_at);

-- Invitations into a conversation (a named agent or anyone from a queue) and how they ended.
CREATE TABLE IF NOT EXISTS invitations (
    id               uuid PRIMARY KEY,
    conversation_id  uuid NOT NULL REFERENCES conversations (id),
    inviter_id       uuid NOT NULL REFERENCES staff (id),
    target_agent_id  uuid REFERENCES staff (id),
    target_queue     text,
    invitee_id       uuid REFERENCES staff (id),   -- the agent asked last
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'cancelled')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz
);
CREATE INDEX IF NOT EXISTS invitations_conversation_idx ON invitations (conversation_id);

-- What the engine sees of each agent right now, kept current by the Router (written at most every
-- half second, only when something changed): the dashboard's live overview reads it.
CREATE TABLE IF NOT EXISTS agent_status (
    agent_id             uuid PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,
    presence             text NOT NULL CHECK (presence IN ('available', 'away', 'offline')),
    open_conversations   integer NOT NULL DEFAULT 0,
    pending_offers       integer NOT NULL DEFAULT 0,
    pending_invitations  integer NOT NULL DEFAULT 0,
    capacity             integer NOT NULL DEFAULT 0,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Presence changes, who made them (the agent or the system) and when.
CREATE TABLE IF NOT EXISTS presence_log (
    id        bigserial PRIMARY KEY,
    agent_id  uuid NOT NULL REFERENCES staff (id),
    state     text NOT NULL,
    by        text NOT NULL CHECK (by IN ('agent', 'system')),
    at        timestamptz NOT NULL DEFAULT now()
);

-- Offline requests left when nobody can take a chat. request_number comes from a sequence:
-- unique and human-friendly (REQ-000042); a rolled-back insert may leave a gap, which is fine.
CREATE SEQUENCE IF NOT EXISTS offline_request_number_seq;
CREATE TABLE IF NOT EXISTS offline_requests (
    id               uuid PRIMARY KEY,
    request_number   bigint NOT NULL UNIQUE DEFAULT nextval('offline_request_number_seq'),
    queue            text NOT NULL REFERENCES queues (name),
    name             text NOT NULL,
    email            text NOT NULL,
    question         text NOT NULL,
    conversation_id  uuid REFERENCES conversations (id),
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'handled')),
    handled_by       uuid REFERENCES staff (id),
    handled_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS offline_requests_open_idx ON offline_requests (queue, status, created_at);

-- FAQ entries per queue, ranked by PostgreSQL full-text search. `language` is the text-search
-- configuration of the entry's queue (copied when written), so the stored vector is built with
-- the right stemmer and the GIN index serves every language at once.
CREATE TABLE IF NOT EXISTS faq_entries (
    id        uuid PRIMARY KEY,
    queue     text NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
    question  text NOT NULL,
    answer    text NOT NULL,
    language  regconfig NOT NULL DEFAULT 'english',
    search    tsvector GENERATED ALWAYS AS (
                  setweight(to_tsvector(language, question), 'A') || setweight(to_tsvector(language, answer), 'B')
              ) STORED,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS faq_entries_search_idx ON faq_entries USING gin (search);

-- Canned answers: per queue, or global when queue is NULL.
CREATE TABLE IF NOT EXISTS canned_messages (
    id        uuid PRIMARY KEY,
    queue     text REFERENCES queues (name) ON DELETE CASCADE,
    title     text NOT NULL,
    text      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Mails to send (transcripts, confirmations). The Mailer marks each row sent or failed.
CREATE TABLE IF NOT EXISTS outbox (
    id          uuid PRIMARY KEY,
    recipient   text NOT NULL,
    subject     text NOT NULL,
    body_text   text NOT NULL,
    body_html   text,
    status      text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    next_try_at timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_queued_idx ON outbox (next_try_at) WHERE status = 'queued';

-- Indexes of the supervisor dashboard (dashboard/db.py; timings and plans in its README).
-- Full-text search of message text: 'simple' (no stemming), since messages come in any language.
-- New rows wait in the index's pending list until it is merged; the merge runs inside the commit
-- that fills the list, so a large list stalls that one commit for as long as its merge takes; a
-- list of 256 kB keeps every merge small at the same CPU per message. A smaller list also makes
-- searches read less of it.
CREATE INDEX IF NOT EXISTS messages_text_search_idx ON messages USING gin (to_tsvector('simple', text))
    WITH (gin_pending_list_limit = 256);
ALTER INDEX IF EXISTS messages_text_search_idx SET (gin_pending_list_limit = 256);
-- The conversation log: newest first within a queue; "took part" filter by agent. Reports read
-- conversations of a period from the covering index alone (index-only scans).
CREATE INDEX IF NOT EXISTS conversations_queue_created_idx ON conversations (queue, created_at);
CREATE INDEX IF NOT EXISTS conversations_report_idx ON conversations (created_at)
    INCLUDE (queue, status, owner_id, accepted_at, ended_at);
CREATE INDEX IF NOT EXISTS participants_agent_conversation_idx ON participants (agent_id, conversation_id);
-- Live overview (pending offers) and reports (offers per period, offline requests per day, and
-- the system events of one transcript).
CREATE INDEX IF NOT EXISTS offers_pending_idx ON offers (created_at) WHERE outcome IS NULL;
CREATE INDEX IF NOT EXISTS offers_created_idx ON offers (created_at) INCLUDE (agent_id, outcome, conversation_id);
CREATE INDEX IF NOT EXISTS offline_requests_created_idx ON offline_requests (created_at);
CREATE INDEX IF NOT EXISTS offline_requests_conversation_idx ON offline_requests (conversation_id)
    WHERE conversation_id IS NOT NULL;

-- ---- Customers who come back (PROTOCOL.md §6, §7) ----------------------------------------

-- A queue's mode: 'live' (a chat ends when its customer is gone past the grace) or 'messaging'
-- (a conversation outlives the page: open, pending, resolved, reopened by the customer).
-- `consent_notice`, when set, is the privacy notice the pre-chat and offline forms show with a
-- checkbox the customer must tick; the consent is stored with the conversation.
ALTER TABLE queues ADD COLUMN IF NOT EXISTS mode text NOT NULL DEFAULT 'live';
ALTER TABLE queues ADD COLUMN IF NOT EXISTS consent_notice text;
-- Per-language mail templates of the queue: {"de": {"sender_name", "notify_subject", ...}}.
ALTER TABLE queues ADD COLUMN IF NOT EXISTS mail_templates jsonb NOT NULL DEFAULT '{}';
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'queues_mode_check') THEN
        ALTER TABLE queues ADD CONSTRAINT queues_mode_check CHECK (mode IN ('live', 'messaging'));
    END IF;
END $$;

-- Customers (contacts). E-mail is unique compared case-insensitively; mobile (E.164) and
-- external_id are unique when present; external_id never changes once set. A password is
-- optional (sign-in by one-time code needs none).
CREATE TABLE IF NOT EXISTS customers (
    id                        uuid PRIMARY KEY,
    name                      text NOT NULL,
    email                     text NOT NULL,
    mobile                    text,
    external_id               text,
    language                  text NOT NULL DEFAULT 'en',
    password_hash             text,
    password_change_required  boolean NOT NULL DEFAULT false,
    created_at                timestamptz NOT NULL DEFAULT now(),
    activated_at              timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS customers_email_key ON customers (lower(email));
CREATE UNIQUE INDEX IF NOT EXISTS customers_mobile_key ON customers (mobile) WHERE mobile IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS customers_external_id_key ON customers (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS customers_name_idx ON customers (lower(name) text_pattern_ops);

-- One-time codes: one live code per customer (a new one voids the old), stored hashed, with a
-- lifetime and a number of tries left. `purpose`: 'signin' or 'activation' (the first sign-in
-- with an activation code must set a password).
CREATE TABLE IF NOT EXISTS customer_codes (
    customer_id  uuid PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    code_hash    bytea NOT NULL,
    purpose      text NOT NULL CHECK (purpose IN ('signin', 'activation')),
    tries_left   integer NOT NULL,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Every conversation belongs to one customer: the one with its e-mail, made when there is none
-- (a trigger, so every path that stores a conversation links it the same way).
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS customer_id uuid REFERENCES customers (id);
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS last_owner_id uuid REFERENCES staff (id);
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS last_activity_at timestamptz;
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS resolved_at timestamptz;
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS consent_at timestamptz;
-- When the customer ticked the queue's consent notice on the offline form (NULL: the queue had none).
ALTER TABLE offline_requests ADD COLUMN IF NOT EXISTS consent_at timestamptz;
-- The last public agent message a notification mail told the customer about (one per quiet period).
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS notified_seq integer NOT NULL DEFAULT 0;
-- When the customer's notification mail is due (an agent's public message unread since); the
-- notifier claims due rows, so a pending conversation needs no actor to be mailed.
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS notify_due_at timestamptz;
CREATE INDEX IF NOT EXISTS conversations_notify_due_idx ON conversations (notify_due_at)
    WHERE notify_due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS conversations_customer_idx ON conversations (customer_id, last_activity_at DESC);
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'conversations_status_v2') THEN
        ALTER TABLE conversations DROP CONSTRAINT IF EXISTS conversations_status_check;
        ALTER TABLE conversations ADD CONSTRAINT conversations_status_v2
            CHECK (status IN ('queued', 'active', 'pending', 'resolved', 'ended'));
    END IF;
END $$;

CREATE OR REPLACE FUNCTION frontdesk_conversation_customer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE found uuid;
BEGIN
    IF NEW.customer_id IS NULL THEN
        SELECT id INTO found FROM customers WHERE lower(email) = lower(NEW.customer_email);
        IF found IS NULL THEN
            INSERT INTO customers (id, name, email, created_at)
                VALUES (gen_random_uuid(), NEW.customer_name, NEW.customer_email, NEW.created_at)
                ON CONFLICT DO NOTHING RETURNING id INTO found;
            IF found IS NULL THEN   -- made meanwhile by another transaction
                SELECT id INTO found FROM customers WHERE lower(email) = lower(NEW.customer_email);
            END IF;
        END IF;
        NEW.customer_id := found;
    END IF;
    IF NEW.last_activity_at IS NULL THEN
        NEW.last_activity_at := NEW.created_at;
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER conversations_customer BEFORE INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION frontdesk_conversation_customer();
-- Conversations stored before customers existed get theirs once.
INSERT INTO customers (id, name, email, created_at)
    SELECT DISTINCT ON (lower(customer_email)) gen_random_uuid(), customer_name, customer_email, created_at
    FROM conversations WHERE customer_id IS NULL ORDER BY lower(customer_email), created_at DESC
    ON CONFLICT DO NOTHING;
UPDATE conversations c SET customer_id = cu.id, last_activity_at = coalesce(c.last_activity_at, c.created_at)
    FROM customers cu WHERE c.customer_id IS NULL AND lower(c.customer_email) = lower(cu.email);

-- Tokens of customers: 'customer' (one conversation, from a chat's start), 'account' (a signed-in
-- customer: subject is the customer id) and 'link' (a notification mail's link: one conversation,
-- revoked when its customer signs out everywhere). `restricted` tokens may only set a password.
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS customer_id uuid;
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS restricted boolean NOT NULL DEFAULT false;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'tokens_kind_v2') THEN
        ALTER TABLE tokens DROP CONSTRAINT IF EXISTS tokens_kind_check;
        ALTER TABLE tokens ADD CONSTRAINT tokens_kind_v2
            CHECK (kind IN ('agent', 'supervisor', 'customer', 'account', 'link'));
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS tokens_customer_idx ON tokens (customer_id) WHERE customer_id IS NOT NULL;

-- Messages imported from old e-mail threads keep their original date and their Message-ID,
-- which makes a second import of the same files add nothing.
ALTER TABLE messages ADD COLUMN IF NOT EXISTS imported boolean NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS source_id text;
CREATE UNIQUE INDEX IF NOT EXISTS messages_source_id_key ON messages (source_id) WHERE source_id IS NOT NULL;

-- Text messages to send (one-time codes), like the mail outbox: POSTed as JSON to
-- FRONTDESK_SMS_URL, retried with back-off, each row sent at most once.
CREATE TABLE IF NOT EXISTS sms_outbox (
    id           uuid PRIMARY KEY,
    recipient    text NOT NULL,
    text         text NOT NULL,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    next_try_at  timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
CREATE INDEX IF NOT EXISTS sms_outbox_queued_idx ON sms_outbox (next_try_at) WHERE status = 'queued';

-- A mail may carry a QR code of a link (the activation mail's sign-in page): the text it holds,
-- drawn by the Mailer as an image inside the HTML part.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS qr_text text;

-- Transfers (hand-overs): the owner hands a conversation to a colleague or to a queue (PROTOCOL.md
-- §8). to_agent_id is the agent asked (last), null while a queue transfer waits at the head of its
-- queue; on 'accepted' it is the new owner. The note is private: staff only, never on a customer's
-- path. A transfer cancelled by the chat's end, its owner going offline, a supervisor's take-over or
-- reassignment is 'expired'; a restart leaves it pending (restored, see expires_at below).
CREATE TABLE IF NOT EXISTS transfers (
    id               uuid PRIMARY KEY,
    conversation_id  uuid NOT NULL REFERENCES conversations (id),
    from_agent_id    uuid NOT NULL REFERENCES staff (id),
    to_agent_id      uuid REFERENCES staff (id),
    to_queue         text,
    note             text,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'accepted', 'declined', 'expired')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz
);
CREATE INDEX IF NOT EXISTS transfers_conversation_idx ON transfers (conversation_id);
CREATE INDEX IF NOT EXISTS transfers_created_idx ON transfers (created_at);

-- ---- Supervisors inside live chats (PROTOCOL.md §8) -----------------------------------------

-- Every supervisor action (monitor, unmonitor, join, take_over, reassign, set_agent_presence):
-- who did it, to which conversation and/or agent, and when. The dashboard's transcript shows a
-- conversation's rows among its system events.
CREATE TABLE IF NOT EXISTS supervisor_actions (
    id               bigserial PRIMARY KEY,
    supervisor_id    uuid NOT NULL REFERENCES staff (id),
    action           text NOT NULL CHECK (action IN ('monitor', 'unmonitor', 'join', 'take_over', 'reassign',
                                                     'set_agent_presence')),
    conversation_id  uuid REFERENCES conversations (id),
    agent_id         uuid REFERENCES staff (id),      -- the agent acted on (reassign's target, presence)
    detail           text,                            -- e.g. the presence set
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS supervisor_actions_conversation_idx ON supervisor_actions (conversation_id, at)
    WHERE conversation_id IS NOT NULL;
-- A supervisor may set an agent's presence: the presence log names that too.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'presence_log_by_v2') THEN
        ALTER TABLE presence_log DROP CONSTRAINT IF EXISTS presence_log_by_check;
        ALTER TABLE presence_log ADD CONSTRAINT presence_log_by_v2 CHECK (by IN ('agent', 'system', 'supervisor'));
    END IF;
END $$;

-- ---- Administration without SQL (PROTOCOL.md §10) ---------------------------------------

-- A disabled staff member cannot sign in; the admin API deletes their tokens in the same
-- transaction. Rows are never deleted: conversations and the audit log keep naming them.
ALTER TABLE staff ADD COLUMN IF NOT EXISTS disabled_at timestamptz;
-- Queue settings of the admin API: transcript mails on or off, the retention of ended
-- conversations in days (NULL: kept), and the display name of the queue's mails' sender.
ALTER TABLE queues ADD COLUMN IF NOT EXISTS transcript_mails boolean NOT NULL DEFAULT true;
ALTER TABLE queues ADD COLUMN IF NOT EXISTS retention_days integer;
ALTER TABLE queues ADD COLUMN IF NOT EXISTS sender_name text;
-- The sender name a mail goes out with (its queue's), joined to FRONTDESK_MAIL_FROM's address.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS sender_name text;

-- Every change made through the admin API: who, when, what (action and target), and the
-- object before and after as JSON (secrets and passwords masked), written in the change's
-- own transaction.
CREATE TABLE IF NOT EXISTS audit_log (
    id        uuid PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor_id  uuid REFERENCES staff (id),
    action    text NOT NULL,
    target    text NOT NULL,
    before    jsonb,
    after     jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_at_idx ON audit_log (at DESC, id);

-- Changes to staff (name, capacity, disabled) and to queue memberships are announced on
-- 'frontdesk_staff' with the staff id: running engines apply them to the Router at once. A
-- presence change (written on every choice of the agent) is no such change.
CREATE OR REPLACE FUNCTION frontdesk_staff_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'queue_members' THEN
        PERFORM pg_notify('frontdesk_staff', coalesce(NEW.staff_id, OLD.staff_id)::text);
    ELSE
        PERFORM pg_notify('frontdesk_staff', NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER staff_changed AFTER INSERT OR UPDATE OF name, email, capacity, disabled_at ON staff
    FOR EACH ROW EXECUTE FUNCTION frontdesk_staff_changed();
CREATE OR REPLACE TRIGGER queue_members_changed AFTER INSERT OR DELETE ON queue_members
    FOR EACH ROW EXECUTE FUNCTION frontdesk_staff_changed();

-- ---- Ratings (CSAT, PROTOCOL.md §9) ------------------------------------------------------

-- One rating per conversation, by its customer once it has ended (live) or been resolved
-- (messaging). `agent_id` and `queue` are the conversation's (last) owner and queue when it was
-- rated, so the reports per agent and queue hold even when the conversation is reopened and
-- handed on later. `via`: the kind of token the customer rated with (customer, link, account).
CREATE TABLE IF NOT EXISTS ratings (
    id               uuid PRIMARY KEY,
    conversation_id  uuid NOT NULL UNIQUE REFERENCES conversations (id),
    score            smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment          text,
    agent_id         uuid REFERENCES staff (id),
    queue            text NOT NULL,
    via              text NOT NULL CHECK (via IN ('customer', 'link', 'account')),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ratings_created_idx ON ratings (created_at) INCLUDE (queue, agent_id, score);

-- ---- Reports over a shift and the staffing forecast (dashboard/db.py) ------------------------

-- Occupancy and staffing read each agent's presence and chat intervals over a period.
CREATE INDEX IF NOT EXISTS presence_log_agent_at_idx ON presence_log (agent_id, at);
CREATE INDEX IF NOT EXISTS participants_agent_joined_idx ON participants (agent_id, joined_at);

-- ---- Pending transfers survive a restart (PROTOCOL.md §8) ---------------------------------

-- A pending transfer is restored at start and after the Router's rebuild with the time it had
-- left: expires_at is when the turn of the agent asked (or the wait at the head of the queue)
-- ends, and asked every agent asked so far (a queue transfer never asks one twice).
ALTER TABLE transfers ADD COLUMN IF NOT EXISTS expires_at timestamptz;
ALTER TABLE transfers ADD COLUMN IF NOT EXISTS asked uuid[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS transfers_pending_idx ON transfers (created_at) WHERE status = 'pending';

-- ---- The customer's language of a conversation (mails and system messages, de/en) -------

-- The pre-chat form's `language` (the widget sends the language it shows); NULL when the form
-- gave none, and then the customer record's `language` applies (queries.conversation_language).
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS language text;
