//! The fund's books (基金收支). Pure: given the postings of every fund (contributions, subsidies,
//! interest, transfers, reserves, balances brought forward) and the settlement ledger's fund
//! payments, compute for a period each fund's income, expenditure, 当期结余, 累计结余 and
//! 可支付月数, plus the one-stop breakdown of settlements. Settlement expenditure is read from the
//! settlement ledger by the caller and passed in as [`FundPayment`]s — never copied into the books.

mod report;

pub use report::{
    render_csv, render_table, BreakdownRow, ClearingBookRow, FundRow, MonthsPayable, ProviderRow,
    Report,
};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use yibao_domain::{Code, Fen, SetlAmounts};

/// What a book posting records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Balance carried in from before the books start (counts in 累计结余, not in any period's income).
    BroughtForward,
    IndividualContribution,
    EmployerContribution,
    /// Fiscal subsidy of residents' contributions (central / provincial / local shares alike).
    FiscalSubsidy,
    /// Subsidy paying the individual contribution of poor groups (资助参保).
    AssistedEnrolment,
    Interest,
    TransferIn,
    /// Risk reserve set aside (an outlay of the fund).
    Reserve,
    TransferOut,
    OtherIncome,
    OtherExpenditure,
    /// Claims an institution earned in a month (the fund payments of its settlements): owed to it.
    ProviderClaims,
    /// Audit and inspection deductions taken from an institution's claims.
    ProviderDeductions,
    /// Paid to an institution within its monthly quota (negative when recovered).
    ProviderPaid,
    /// Owed above the monthly quota and deferred to the year-end (超支挂帐).
    ProviderDeferred,
    /// Withheld from a monthly payment as the quality reserve (预留金).
    ProviderReserveWithheld,
    /// A prepayment recovered from a monthly payment (预付金抵扣).
    ProviderPrepaymentOffset,
    /// The year-end clearing's payment to an institution (negative when recovered).
    ProviderYearEnd,
    /// A procurement prepayment paid to an institution (采购周转金).
    ProviderProcurementPrepaid,
    /// A procurement prepayment recovered from a monthly payment or at the year-end.
    ProviderProcurementOffset,
    /// The retained share of an institution's procurement savings, paid at the year-end (结余留用).
    ProviderProcurementRetained,
    /// Cross-region clearing, insured region: a month's remote-care fund payments owed to the
    /// treating region (异地就医清算应付).
    ClearingPayable,
    /// Cross-region clearing, treating region: a month's fund payments owed by the insured region
    /// for care at its institutions (异地就医清算应收).
    ClearingReceivable,
    /// Cross-region clearing, treating region: the same owed on to its institutions.
    ClearingOwedToHospitals,
    /// Insured region: audit deductions (10 审核扣款) taken from what it owes.
    ClearingPayableAudit,
    /// Insured region: inspection deductions (20 稽核扣款) taken from what it owes.
    ClearingPayableInspection,
    /// Insured region: what it owes met from its prepayment (30 预付金抵扣).
    ClearingPayablePrepaymentOffset,
    /// Insured region: what it owes but withholds as a reserve (40 预留金暂扣; stays owed until
    /// released).
    ClearingPayableReserveWithheld,
    /// Insured region: a withheld reserve paid out by its release (预留金返还).
    ClearingPayableReserveReleased,
    /// Insured region: prepayment paid in (or topped up) to the treating region (预付金拨付).
    ClearingPrepaymentPaidIn,
    /// Insured region: the transfer when the clearing is paid (60; negative when recovered).
    ClearingPayableSettled,
    /// Treating region: audit deductions (10) taken from what it is owed.
    ClearingReceivableAudit,
    /// Treating region: inspection deductions (20) taken from what it is owed.
    ClearingReceivableInspection,
    /// Treating region: what it is owed met from the prepayment it holds (30).
    ClearingReceivablePrepaymentOffset,
    /// Treating region: what it is owed but the insured region withholds (40).
    ClearingReceivableReserveWithheld,
    /// Treating region: a withheld reserve collected at its release (paid on to its institutions).
    ClearingReceivableReserveReleased,
    /// Treating region: prepayment received from the insured region.
    ClearingPrepaymentReceived,
    /// Treating region: the transfer collected when the clearing is paid (60).
    ClearingReceivableCollected,
    /// Treating region: paid on to its institutions when the clearing is paid (60): the transfer
    /// plus the part met from the prepayment; and the reserve when it is released.
    ClearingPaidToHospitals,
}

impl Flow {
    /// Whether the flow records paying an institution for its settlements: the fund's expenditure
    /// is counted when the settlements are made, so these flows move neither income, expenditure
    /// nor the balance; they show what is owed to institutions and what was paid.
    pub fn is_provider(self) -> bool {
        matches!(
            self,
            Flow::ProviderClaims
                | Flow::ProviderDeductions
                | Flow::ProviderPaid
                | Flow::ProviderDeferred
                | Flow::ProviderReserveWithheld
                | Flow::ProviderPrepaymentOffset
                | Flow::ProviderYearEnd
                | Flow::ProviderProcurementPrepaid
                | Flow::ProviderProcurementOffset
                | Flow::ProviderProcurementRetained
        )
    }

    /// Whether the flow records cross-region clearing between regions: the insured fund's
    /// expenditure is counted when the settlements are made, so these flows move neither income,
    /// expenditure nor the balance; they show what is owed between regions and to institutions.
    pub fn is_clearing(self) -> bool {
        matches!(
            self,
            Flow::ClearingPayable
                | Flow::ClearingReceivable
                | Flow::ClearingOwedToHospitals
                | Flow::ClearingPayableAudit
                | Flow::ClearingPayableInspection
                | Flow::ClearingPayablePrepaymentOffset
                | Flow::ClearingPayableReserveWithheld
                | Flow::ClearingPayableReserveReleased
                | Flow::ClearingPrepaymentPaidIn
                | Flow::ClearingPayableSettled
                | Flow::ClearingReceivableAudit
                | Flow::ClearingReceivableInspection
                | Flow::ClearingReceivablePrepaymentOffset
                | Flow::ClearingReceivableReserveWithheld
                | Flow::ClearingReceivableReserveReleased
                | Flow::ClearingPrepaymentReceived
                | Flow::ClearingReceivableCollected
                | Flow::ClearingPaidToHospitals
        )
    }

    /// Whether the flow is an outlay of the fund.
    pub fn is_expenditure(self) -> bool {
        matches!(
            self,
            Flow::Reserve | Flow::TransferOut | Flow::OtherExpenditure
        )
    }

    /// Whether the flow is income of its period (a balance brought forward is not).
    pub fn is_income(self) -> bool {
        !self.is_expenditure()
            && !self.is_provider()
            && !self.is_clearing()
            && self != Flow::BroughtForward
    }
}

/// One posting to a fund's book (positive amounts; a correction is a posting of the negated amount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookPosting {
    pub fund: Code,
    pub date: NaiveDate,
    pub flow: Flow,
    pub amount: Fen,
}

/// A fund payment from the settlement ledger (cancellations arrive negated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundPayment {
    pub fund: Code,
    pub date: NaiveDate,
    pub amount: Fen,
}

/// A settlement's totals, for the one-stop breakdown (cancellations arrive negated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SettlementTotals {
    /// +1 for a settlement, −1 for its cancellation.
    pub count: i64,
    pub insutype: Code,
    pub date: NaiveDate,
    /// The `setlinfo` amounts (a cancellation's are negative).
    pub amounts: SetlAmounts,
}

/// A fund as the report names it, and the scheme it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundInfo {
    pub code: Code,
    pub name: String,
    pub insutype: Code,
}

/// The period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Period {
    Year(i32),
    Month(i32, u32),
}

/// Why a report could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BooksError {
    #[error("month: {0} is not a month 1..12")]
    BadMonth(u32),
    #[error("fund {0}: a posting or payment names a fund the report does not list")]
    UnknownFund(Code),
}

impl Period {
    /// First day of the period.
    pub fn start(self) -> Result<NaiveDate, BooksError> {
        let (year, month) = match self {
            Period::Year(y) => (y, 1),
            Period::Month(y, m) => (y, m),
        };
        NaiveDate::from_ymd_opt(year, month, 1).ok_or(match self {
            Period::Month(_, m) => BooksError::BadMonth(m),
            Period::Year(_) => BooksError::BadMonth(1),
        })
    }

    /// Number of months in the period.
    pub fn months(self) -> i64 {
        match self {
            Period::Year(_) => 12,
            Period::Month(..) => 1,
        }
    }

    /// Whether `date` falls in the period.
    pub fn contains(self, date: NaiveDate) -> bool {
        match self {
            Period::Year(y) => date.year() == y,
            Period::Month(y, m) => date.year() == y && date.month() == m,
        }
    }

    /// Whether `date` is on or before the period's last day.
    pub fn ends_after(self, date: NaiveDate) -> bool {
        match self {
            Period::Year(y) => date.year() <= y,
            Period::Month(y, m) => (date.year(), date.month()) <= (y, m),
        }
    }

    /// `2025` or `2025-03`.
    pub fn label(self) -> String {
        match self {
            Period::Year(y) => y.to_string(),
            Period::Month(y, m) => format!("{y}-{m:02}"),
        }
    }
}

/// Signed effect of a posting on the fund's accumulated balance.
pub(crate) fn balance_effect(posting: &BookPosting) -> Fen {
    if posting.flow.is_provider() || posting.flow.is_clearing() {
        Fen::ZERO
    } else if posting.flow.is_expenditure() {
        -posting.amount
    } else {
        posting.amount
    }
}
