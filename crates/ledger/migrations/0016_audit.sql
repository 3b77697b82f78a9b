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

-- The post-payment audit of a month (`yibao audit run --month`): one row per finding, numbered in
-- the audit's order; derived from the ledger, so auditing the month again replaces its rows. The
-- evidence lists are comma-separated codes.
CREATE TABLE audit_findings (
    month           TEXT   NOT NULL,
    finding_no      BIGINT NOT NULL,
    kind            TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    psn_nos         TEXT   NOT NULL,
    fixmedins_codes TEXT   NOT NULL,
    mdtrt_ids       TEXT   NOT NULL,
    amount          BIGINT NOT NULL,
    score           BIGINT NOT NULL,
    reason          TEXT   NOT NULL,
    found_at        TEXT   NOT NULL,
    PRIMARY KEY (month, finding_no)
);

-- Cases (案件): a finding taken up by supervisors, with a copy of its evidence (a month audited again
-- may renumber its findings; the case keeps what it was opened on). `status`: open, assigned,
-- reviewed, confirmed, dismissed. A confirmed case names its type (审核扣款, 稽核扣款, 追回), amount and
-- the provider deduction it posted (`deduction_id`; a 追回 also posts book batch `case-<case_id>`).
CREATE TABLE audit_cases (
    case_id          TEXT   PRIMARY KEY,
    finding_month    TEXT   NOT NULL,
    finding_no       BIGINT NOT NULL,
    kind             TEXT   NOT NULL,
    finding_id       TEXT   NOT NULL,
    psn_nos          TEXT   NOT NULL,
    fixmedins_code   TEXT   NOT NULL,
    mdtrt_ids        TEXT   NOT NULL,
    amount_at_issue  BIGINT NOT NULL,
    reason           TEXT   NOT NULL,
    status           TEXT   NOT NULL,
    assignee         TEXT   NOT NULL,
    confirm_type     TEXT   NOT NULL,
    confirmed_amount BIGINT NOT NULL,
    deduction_id     TEXT   NOT NULL,
    opened_at        TEXT   NOT NULL,
    updated_at       TEXT   NOT NULL,
    UNIQUE (finding_month, finding_no)
);

-- Every step of a case, in order: who did what, the note and the evidence given.
CREATE TABLE audit_case_events (
    case_id  TEXT   NOT NULL,
    event_no BIGINT NOT NULL,
    action   TEXT   NOT NULL,
    actor    TEXT   NOT NULL,
    note     TEXT   NOT NULL,
    evidence TEXT   NOT NULL,
    at       TEXT   NOT NULL,
    PRIMARY KEY (case_id, event_no)
);
