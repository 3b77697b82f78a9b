-- Real-time audit (issue 13): the hospital's feedback (3103) on the warnings 3101/3102 answered.
-- One row per institution, warning stage (`warn_type` 1 事前, 2 事中) and warning (`warn_rslt_id`,
-- the `jr_id` of the reply); a later feedback on the same warning replaces the disposition, the
-- time and message of each are kept with it.

CREATE TABLE audit_feedback (
    fixmedins_code TEXT NOT NULL,
    warn_type      TEXT NOT NULL,
    warn_rslt_id   TEXT NOT NULL,
    dspo_way       TEXT NOT NULL,
    dspo_way_rea   TEXT NOT NULL,
    msgid          TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, warn_type, warn_rslt_id)
);
