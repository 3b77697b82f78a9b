-- One schema for SQLite and PostgreSQL: only TEXT and BIGINT columns, application-issued keys.
-- Money columns hold integer fen.

CREATE TABLE institutions (
    fixmedins_code TEXT PRIMARY KEY,
    fixmedins_name TEXT NOT NULL,
    fixmedins_type TEXT NOT NULL,
    hosp_lv        TEXT NOT NULL,
    admdvs         TEXT NOT NULL
);

CREATE TABLE access_keys (
    access_key     TEXT PRIMARY KEY,
    fixmedins_code TEXT NOT NULL REFERENCES institutions (fixmedins_code),
    scheme         TEXT NOT NULL,
    secret         TEXT NOT NULL
);

CREATE TABLE persons (
    psn_no        TEXT PRIMARY KEY,
    psn_cert_type TEXT NOT NULL,
    certno        TEXT NOT NULL,
    psn_name      TEXT NOT NULL,
    gend          TEXT NOT NULL,
    brdy          TEXT NOT NULL
);
CREATE INDEX persons_certno ON persons (certno);

CREATE TABLE person_insu (
    psn_no         TEXT   NOT NULL REFERENCES persons (psn_no),
    insutype       TEXT   NOT NULL,
    psn_type       TEXT   NOT NULL,
    psn_insu_stas  TEXT   NOT NULL,
    psn_insu_date  TEXT   NOT NULL,
    insuplc_admdvs TEXT   NOT NULL,
    cvlserv_flag   TEXT   NOT NULL,
    opening_balc   BIGINT NOT NULL,
    PRIMARY KEY (psn_no, insutype)
);

CREATE TABLE person_idet (
    psn_no        TEXT NOT NULL REFERENCES persons (psn_no),
    psn_idet_type TEXT NOT NULL,
    begntime      TEXT NOT NULL,
    endtime       TEXT NOT NULL,
    PRIMARY KEY (psn_no, psn_idet_type, begntime)
);

CREATE TABLE policies (
    admdvs    TEXT PRIMARY KEY,
    source    TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);

CREATE TABLE catalogs (
    admdvs    TEXT PRIMARY KEY,
    source    TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);

CREATE TABLE id_counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- Idempotency: the stored reply of every message that changed state, keyed per institution.
CREATE TABLE messages (
    fixmedins_code TEXT NOT NULL,
    msgid          TEXT NOT NULL,
    infno          TEXT NOT NULL,
    effect_ref     TEXT NOT NULL,
    reply          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, msgid)
);

-- Operational state of visits (not part of the ledger).
CREATE TABLE visits (
    mdtrt_id       TEXT PRIMARY KEY,
    fixmedins_code TEXT NOT NULL,
    psn_no         TEXT NOT NULL,
    insutype       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    med_type       TEXT NOT NULL,
    begntime       TEXT NOT NULL,
    endtime        TEXT NOT NULL,
    status         TEXT NOT NULL,
    ipt_otp_no     TEXT NOT NULL,
    info           TEXT NOT NULL
);
CREATE INDEX visits_psn ON visits (psn_no);

CREATE TABLE fee_lines (
    mdtrt_id            TEXT   NOT NULL,
    feedetl_sn          TEXT   NOT NULL,
    upload_seq          BIGINT NOT NULL,
    chrg_bchno          TEXT   NOT NULL,
    init_feedetl_sn     TEXT   NOT NULL,
    det_item_fee_sumamt BIGINT NOT NULL,
    line                TEXT   NOT NULL,
    result              TEXT   NOT NULL,
    setl_id             TEXT   NOT NULL,
    PRIMARY KEY (mdtrt_id, feedetl_sn)
);

-- The append-only ledger.
CREATE TABLE settlements (
    setl_id          TEXT PRIMARY KEY,
    seq              BIGINT NOT NULL UNIQUE,
    kind             TEXT   NOT NULL,
    orig_setl_id     TEXT UNIQUE,
    infno            TEXT   NOT NULL,
    msgid            TEXT   NOT NULL,
    fixmedins_code   TEXT   NOT NULL,
    mdtrt_id         TEXT   NOT NULL,
    psn_no           TEXT   NOT NULL,
    insutype         TEXT   NOT NULL,
    year             BIGINT NOT NULL,
    med_type         TEXT   NOT NULL,
    mid_setl_flag    TEXT   NOT NULL,
    setl_time        TEXT   NOT NULL,
    clr_type         TEXT   NOT NULL,
    clr_way          TEXT   NOT NULL,
    clr_optins       TEXT   NOT NULL,
    medfee_sumamt     BIGINT NOT NULL,
    fulamt_ownpay_amt BIGINT NOT NULL,
    overlmt_selfpay   BIGINT NOT NULL,
    preselfpay_amt    BIGINT NOT NULL,
    inscp_scp_amt     BIGINT NOT NULL,
    act_pay_dedc      BIGINT NOT NULL,
    hifp_pay          BIGINT NOT NULL,
    cvlserv_pay       BIGINT NOT NULL,
    hifes_pay         BIGINT NOT NULL,
    hifmi_pay         BIGINT NOT NULL,
    hifob_pay         BIGINT NOT NULL,
    maf_pay           BIGINT NOT NULL,
    oth_pay           BIGINT NOT NULL,
    hifdm_pay         BIGINT NOT NULL,
    fund_pay_sumamt   BIGINT NOT NULL,
    psn_part_amt      BIGINT NOT NULL,
    acct_pay          BIGINT NOT NULL,
    acct_mulaid_pay   BIGINT NOT NULL,
    psn_cash_pay      BIGINT NOT NULL,
    hosp_part_amt     BIGINT NOT NULL,
    balc              BIGINT NOT NULL
);
CREATE INDEX settlements_visit ON settlements (mdtrt_id);
CREATE INDEX settlements_person ON settlements (psn_no, insutype);
CREATE INDEX settlements_institution ON settlements (fixmedins_code, setl_time);

CREATE TABLE settlement_funds (
    setl_id            TEXT   NOT NULL,
    row_no             BIGINT NOT NULL,
    fund_pay_type      TEXT   NOT NULL,
    fund_pay_type_name TEXT   NOT NULL,
    payer_class        TEXT   NOT NULL,
    inscp_scp_amt      BIGINT NOT NULL,
    crt_payb_lmt_amt   BIGINT,
    fund_payamt        BIGINT NOT NULL,
    setl_proc_info     TEXT   NOT NULL,
    PRIMARY KEY (setl_id, row_no)
);

CREATE TABLE settlement_lines (
    setl_id             TEXT   NOT NULL,
    feedetl_sn          TEXT   NOT NULL,
    det_item_fee_sumamt BIGINT NOT NULL,
    fulamt_ownpay_amt   BIGINT NOT NULL,
    overlmt_amt         BIGINT NOT NULL,
    preselfpay_amt      BIGINT NOT NULL,
    inscp_scp_amt       BIGINT NOT NULL,
    PRIMARY KEY (setl_id, feedetl_sn)
);

CREATE TABLE postings (
    setl_id  TEXT   NOT NULL,
    psn_no   TEXT   NOT NULL,
    insutype TEXT   NOT NULL,
    year     BIGINT NOT NULL,
    acc_key  TEXT   NOT NULL,
    amount   BIGINT NOT NULL,
    PRIMARY KEY (setl_id, acc_key)
);

-- Materialised accumulator totals (always equal to the sums of `postings`; `yibao verify` checks).
CREATE TABLE acc_totals (
    psn_no   TEXT   NOT NULL,
    insutype TEXT   NOT NULL,
    year     BIGINT NOT NULL,
    acc_key  TEXT   NOT NULL,
    amount   BIGINT NOT NULL,
    PRIMARY KEY (psn_no, insutype, year, acc_key)
);

-- Materialised net personal-account payments (always equal to the sums of settlements.acct_pay).
CREATE TABLE account_totals (
    psn_no   TEXT   NOT NULL,
    insutype TEXT   NOT NULL,
    paid     BIGINT NOT NULL,
    PRIMARY KEY (psn_no, insutype)
);
