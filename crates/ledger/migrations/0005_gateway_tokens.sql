-- Gateway replay protection: every CSB signature and TIF nonce accepted, kept until its request's
-- timestamp leaves the accepted window, so that a captured request cannot be replayed, not even after
-- a restart. `token` is `<scheme>/<key>/<signature or nonce>`; `expires_at_secs` (Unix seconds) is the
-- request's timestamp plus the window: after it the timestamp alone refuses the request, and the row
-- is pruned.

CREATE TABLE gateway_tokens (
    token           TEXT PRIMARY KEY,
    expires_at_secs BIGINT NOT NULL
);

CREATE INDEX gateway_tokens_expiry ON gateway_tokens (expires_at_secs);
