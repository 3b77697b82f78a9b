-- Paying institutions under a total budget (总额预算): each institution × scheme × year's annual
-- index, the deductions supervision posts against a month's payment, and the statements of the
-- monthly payments and year-end clearings as they were posted (JSON of the provider-payment crate's
-- statements, amounts in fen). A posted month or year is never recomputed: posting it again returns
-- the stored statement. Money columns hold integer fen.

CREATE TABLE provider_budgets (
    fixmedins_code        TEXT   NOT NULL,
    insutype              TEXT   NOT NULL,
    year                  BIGINT NOT NULL,
    annual_index          BIGINT NOT NULL,
    avg_cost_limit        BIGINT,
    admissions_limit      BIGINT,
    self_pay_share_bp     BIGINT,
    loaded_at             TEXT   NOT NULL,
    PRIMARY KEY (fixmedins_code, insutype, year)
);

-- `kind`: 10 审核扣款, 20 稽核扣款, 30 预付金抵扣 (a prepayment to recover).
CREATE TABLE provider_deductions (
    deduction_id   TEXT   PRIMARY KEY,
    fixmedins_code TEXT   NOT NULL,
    insutype       TEXT   NOT NULL,
    year           BIGINT NOT NULL,
    month          BIGINT NOT NULL,
    kind           TEXT   NOT NULL,
    amount         BIGINT NOT NULL,
    reason         TEXT   NOT NULL,
    posted_at      TEXT   NOT NULL
);
CREATE INDEX provider_deductions_month ON provider_deductions (year, month);

CREATE TABLE provider_payments (
    fixmedins_code TEXT   NOT NULL,
    insutype       TEXT   NOT NULL,
    year           BIGINT NOT NULL,
    month          BIGINT NOT NULL,
    transfer       BIGINT NOT NULL,
    statement      TEXT   NOT NULL,
    posted_at      TEXT   NOT NULL,
    PRIMARY KEY (fixmedins_code, insutype, year, month)
);

CREATE TABLE provider_year_ends (
    fixmedins_code   TEXT   NOT NULL,
    insutype         TEXT   NOT NULL,
    year             BIGINT NOT NULL,
    year_end_payment BIGINT NOT NULL,
    statement        TEXT   NOT NULL,
    posted_at        TEXT   NOT NULL,
    PRIMARY KEY (fixmedins_code, insutype, year)
);
