-- Procurement (集采, issue 12 §6): the procurement prepayment (采购周转金) of an institution × scheme
-- × year, with the offset due in each month of the year (JSON array of 12 amounts in fen, adding up
-- to `amount`), recovered by the monthly payments; and the year's procurement savings, of which the
-- policy's share is retained and paid at the year-end (结余留用). Money columns hold integer fen.
-- A prepayment is posted once (its book postings in batch `procurement:<code>:<insutype>:<yyyy>`);
-- posting it again as it was is a no-op, with other amounts it is refused.

CREATE TABLE procurement_prepayments (
    fixmedins_code TEXT   NOT NULL,
    insutype       TEXT   NOT NULL,
    year           BIGINT NOT NULL,
    month          BIGINT NOT NULL,
    basis          TEXT   NOT NULL,
    basis_amount   BIGINT NOT NULL,
    amount         BIGINT NOT NULL,
    offsets        TEXT   NOT NULL,
    posted_at      TEXT   NOT NULL,
    PRIMARY KEY (fixmedins_code, insutype, year)
);

CREATE TABLE procurement_savings (
    fixmedins_code TEXT   NOT NULL,
    insutype       TEXT   NOT NULL,
    year           BIGINT NOT NULL,
    items          BIGINT NOT NULL,
    savings        BIGINT NOT NULL,
    loaded_at      TEXT   NOT NULL,
    PRIMARY KEY (fixmedins_code, insutype, year)
);

-- Paying a month reads that month's claims (`provider::month_inputs_of`: the fund payments of the
-- settlements made in it) and the year-end the year's inpatient activity (`provider::activity`),
-- each a range of `setl_time` read from an index holding every column the query needs, instead of
-- the whole settlements table (BENCHMARKS.md, "Paying institutions").
CREATE INDEX settlements_claims_month ON settlements (setl_time, fixmedins_code, insutype, fund_pay_sumamt);
CREATE INDEX settlements_inpatient_year ON settlements
    (setl_time, fixmedins_code, insutype, kind, mid_setl_flag, medfee_sumamt, fulamt_ownpay_amt, clr_type)
    WHERE clr_type = '21';
