-- Sanctions of fund supervision (issue 13 §5), each kept as an append-only history keyed by the
-- pooling region (`admdvs`) it belongs to; every write also bumps `id_counters.sanctions_version`,
-- which makes a running service reload its copy.
--
-- `agreement_events`: an institution's agreement (定点协议) steps: `status` active / suspended /
-- terminated from `begndate`, with the reason and the decision's document number (`doc_no`).
-- `practitioners`: 医保医师 by national code (`dr_code`, as carried in `bilg_dr_codg`).
-- `practitioner_points`: penalty points (记分) given on `occurred`, manually or by a case (`case_id`).
-- `card_suspensions`: a person's 暂停联网结算 from `begndate` to `enddate`, both included.

CREATE TABLE agreement_events (
    fixmedins_code TEXT   NOT NULL,
    event_no       BIGINT NOT NULL,
    admdvs         TEXT   NOT NULL,
    status         TEXT   NOT NULL,
    begndate       TEXT   NOT NULL,
    reason         TEXT   NOT NULL,
    doc_no         TEXT   NOT NULL,
    operator       TEXT   NOT NULL,
    recorded_at    TEXT   NOT NULL,
    PRIMARY KEY (fixmedins_code, event_no)
);
CREATE INDEX agreement_events_admdvs ON agreement_events (admdvs);

CREATE TABLE practitioners (
    dr_code        TEXT PRIMARY KEY,
    admdvs         TEXT NOT NULL,
    dr_name        TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    operator       TEXT NOT NULL,
    registered_at  TEXT NOT NULL
);
CREATE INDEX practitioners_admdvs ON practitioners (admdvs);

CREATE TABLE practitioner_points (
    dr_code     TEXT   NOT NULL,
    event_no    BIGINT NOT NULL,
    admdvs      TEXT   NOT NULL,
    points      BIGINT NOT NULL,
    occurred    TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    case_id     TEXT   NOT NULL,
    operator    TEXT   NOT NULL,
    recorded_at TEXT   NOT NULL,
    PRIMARY KEY (dr_code, event_no)
);

CREATE TABLE card_suspensions (
    psn_no      TEXT   NOT NULL,
    event_no    BIGINT NOT NULL,
    admdvs      TEXT   NOT NULL,
    begndate    TEXT   NOT NULL,
    enddate     TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    doc_no      TEXT   NOT NULL,
    operator    TEXT   NOT NULL,
    recorded_at TEXT   NOT NULL,
    PRIMARY KEY (psn_no, event_no)
);
