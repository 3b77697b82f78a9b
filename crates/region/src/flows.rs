//! Storage names of the books' flows (the `flow` column of `book_postings`).

use yibao_books::Flow;
use yibao_ledger::{clearing_books, provider_books};

/// Every flow with its storage name (the books' snake-case serialisation).
pub const FLOWS: [(Flow, &str); 39] = [
    (Flow::BroughtForward, "brought_forward"),
    (Flow::IndividualContribution, "individual_contribution"),
    (Flow::EmployerContribution, "employer_contribution"),
    (Flow::FiscalSubsidy, "fiscal_subsidy"),
    (Flow::AssistedEnrolment, "assisted_enrolment"),
    (Flow::Interest, "interest"),
    (Flow::TransferIn, "transfer_in"),
    (Flow::Reserve, "reserve"),
    (Flow::TransferOut, "transfer_out"),
    (Flow::OtherIncome, "other_income"),
    (Flow::OtherExpenditure, "other_expenditure"),
    (Flow::ProviderClaims, provider_books::CLAIMS),
    (Flow::ProviderDeductions, provider_books::DEDUCTIONS),
    (Flow::ProviderPaid, provider_books::PAID),
    (Flow::ProviderDeferred, provider_books::DEFERRED),
    (
        Flow::ProviderReserveWithheld,
        provider_books::RESERVE_WITHHELD,
    ),
    (
        Flow::ProviderPrepaymentOffset,
        provider_books::PREPAYMENT_OFFSET,
    ),
    (Flow::ProviderYearEnd, provider_books::YEAR_END),
    (
        Flow::ProviderProcurementPrepaid,
        provider_books::PROCUREMENT_PREPAID,
    ),
    (
        Flow::ProviderProcurementOffset,
        provider_books::PROCUREMENT_OFFSET,
    ),
    (
        Flow::ProviderProcurementRetained,
        provider_books::PROCUREMENT_RETAINED,
    ),
    (Flow::ClearingPayable, clearing_books::PAYABLE),
    (Flow::ClearingReceivable, clearing_books::RECEIVABLE),
    (
        Flow::ClearingOwedToHospitals,
        clearing_books::OWED_TO_HOSPITALS,
    ),
    (Flow::ClearingPayableAudit, clearing_books::PAYABLE_AUDIT),
    (
        Flow::ClearingPayableInspection,
        clearing_books::PAYABLE_INSPECTION,
    ),
    (
        Flow::ClearingPayablePrepaymentOffset,
        clearing_books::PAYABLE_PREPAYMENT_OFFSET,
    ),
    (
        Flow::ClearingPayableReserveWithheld,
        clearing_books::PAYABLE_RESERVE_WITHHELD,
    ),
    (
        Flow::ClearingPrepaymentPaidIn,
        clearing_books::PREPAYMENT_PAID_IN,
    ),
    (
        Flow::ClearingPayableSettled,
        clearing_books::PAYABLE_SETTLED,
    ),
    (
        Flow::ClearingReceivableAudit,
        clearing_books::RECEIVABLE_AUDIT,
    ),
    (
        Flow::ClearingReceivableInspection,
        clearing_books::RECEIVABLE_INSPECTION,
    ),
    (
        Flow::ClearingReceivablePrepaymentOffset,
        clearing_books::RECEIVABLE_PREPAYMENT_OFFSET,
    ),
    (
        Flow::ClearingReceivableReserveWithheld,
        clearing_books::RECEIVABLE_RESERVE_WITHHELD,
    ),
    (
        Flow::ClearingPrepaymentReceived,
        clearing_books::PREPAYMENT_RECEIVED,
    ),
    (
        Flow::ClearingReceivableCollected,
        clearing_books::RECEIVABLE_COLLECTED,
    ),
    (
        Flow::ClearingPaidToHospitals,
        clearing_books::PAID_TO_HOSPITALS,
    ),
    (
        Flow::ClearingPayableReserveReleased,
        clearing_books::PAYABLE_RESERVE_RELEASED,
    ),
    (
        Flow::ClearingReceivableReserveReleased,
        clearing_books::RECEIVABLE_RESERVE_RELEASED,
    ),
];

/// Position of `flow` in [`FLOWS`].
pub fn flow_index(flow: Flow) -> usize {
    match flow {
        Flow::BroughtForward => 0,
        Flow::IndividualContribution => 1,
        Flow::EmployerContribution => 2,
        Flow::FiscalSubsidy => 3,
        Flow::AssistedEnrolment => 4,
        Flow::Interest => 5,
        Flow::TransferIn => 6,
        Flow::Reserve => 7,
        Flow::TransferOut => 8,
        Flow::OtherIncome => 9,
        Flow::OtherExpenditure => 10,
        Flow::ProviderClaims => 11,
        Flow::ProviderDeductions => 12,
        Flow::ProviderPaid => 13,
        Flow::ProviderDeferred => 14,
        Flow::ProviderReserveWithheld => 15,
        Flow::ProviderPrepaymentOffset => 16,
        Flow::ProviderYearEnd => 17,
        Flow::ProviderProcurementPrepaid => 18,
        Flow::ProviderProcurementOffset => 19,
        Flow::ProviderProcurementRetained => 20,
        Flow::ClearingPayable => 21,
        Flow::ClearingReceivable => 22,
        Flow::ClearingOwedToHospitals => 23,
        Flow::ClearingPayableAudit => 24,
        Flow::ClearingPayableInspection => 25,
        Flow::ClearingPayablePrepaymentOffset => 26,
        Flow::ClearingPayableReserveWithheld => 27,
        Flow::ClearingPrepaymentPaidIn => 28,
        Flow::ClearingPayableSettled => 29,
        Flow::ClearingReceivableAudit => 30,
        Flow::ClearingReceivableInspection => 31,
        Flow::ClearingReceivablePrepaymentOffset => 32,
        Flow::ClearingReceivableReserveWithheld => 33,
        Flow::ClearingPrepaymentReceived => 34,
        Flow::ClearingReceivableCollected => 35,
        Flow::ClearingPaidToHospitals => 36,
        Flow::ClearingPayableReserveReleased => 37,
        Flow::ClearingReceivableReserveReleased => 38,
    }
}

/// The storage name of a flow.
pub fn flow_name(flow: Flow) -> &'static str {
    FLOWS[flow_index(flow)].1
}

/// The flow of a storage name.
pub fn flow_of_name(name: &str) -> Option<Flow> {
    FLOWS.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_books_serialisation() {
        for (flow, name) in FLOWS {
            let json = serde_json::to_string(&flow).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(flow_of_name(name), Some(flow));
            assert_eq!(flow_name(flow), name);
            assert_eq!(FLOWS[flow_index(flow)].0, flow);
        }
    }

    #[test]
    fn the_ledgers_provider_flows_are_the_books_provider_flows() {
        for name in provider_books::FLOW_NAMES {
            let flow = flow_of_name(name).expect("a flow of the books");
            assert!(flow.is_provider(), "{name}");
        }
        let provider_flows = FLOWS.iter().filter(|(f, _)| f.is_provider()).count();
        assert_eq!(provider_flows, provider_books::FLOW_NAMES.len());
        for name in clearing_books::FLOW_NAMES {
            assert!(flow_of_name(name)
                .expect("a flow of the books")
                .is_clearing());
        }
        let clearing_flows = FLOWS.iter().filter(|(f, _)| f.is_clearing()).count();
        assert_eq!(clearing_flows, clearing_books::FLOW_NAMES.len());
    }
}
