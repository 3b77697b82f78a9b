-- Direct settlement between platforms (issue 11 §2): the treating platform's intents. Before it
-- asks the insured platform to settle or cancel, the treating platform records the id it will use
-- (`peer_key`: the `setl_id` of its own record of the settlement or cancellation) and what it sends;
-- the intent is resolved (committed or aborted) by the outcome, after a restart by asking the
-- insured platform. `state` is pending, committed or aborted; times are `yyyy-MM-dd HH:mm:ss`.

CREATE TABLE peer_intents (
    peer_key       TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    peer_prefix    TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    msgid          TEXT NOT NULL,
    mdtrt_id       TEXT NOT NULL,
    orig_key       TEXT NOT NULL,
    payload        TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    resolved_at    TEXT NOT NULL
);
CREATE INDEX peer_intents_state ON peer_intents (state);
CREATE INDEX peer_intents_visit ON peer_intents (mdtrt_id);
