-- The fund's books: contributions, subsidies, transfers, reserves and balances brought forward,
-- per fund (`fund_pay_type`). Settlement payments are not copied here: the fund report reads them
-- from `settlement_funds`. Money columns hold integer fen; dates are `yyyy-MM-dd` text.

CREATE TABLE book_postings (
    batch         TEXT   NOT NULL,
    line_no       BIGINT NOT NULL,
    fund_pay_type TEXT   NOT NULL,
    posting_date  TEXT   NOT NULL,
    flow          TEXT   NOT NULL,
    amount        BIGINT NOT NULL,
    PRIMARY KEY (batch, line_no)
);
CREATE INDEX book_postings_fund ON book_postings (fund_pay_type, posting_date);
