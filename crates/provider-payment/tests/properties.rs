//! Property tests of the monthly payment and the year-end clearing over random policies (split,
//! quota mode, bands, surplus cap, reserve, rounding) and random years of claims.

use proptest::prelude::*;
use yibao_domain::{Code, Fen, Ratio, Rounding, RoundingMode};
use yibao_provider_payment::{
    run_year, Budget, BudgetRules, Controls, InstitutionYear, MonthInput, MonthlySplit,
    OverspendBand, PaymentPolicy, QuotaMode, YearEndInput, MONTHS,
};

fn rounding() -> impl Strategy<Value = Rounding> {
    (
        prop_oneof![
            Just(RoundingMode::HalfUp),
            Just(RoundingMode::HalfEven),
            Just(RoundingMode::Down),
            Just(RoundingMode::Up),
        ],
        prop_oneof![Just(1i64), Just(10)],
    )
        .prop_map(|(mode, unit_fen)| Rounding { mode, unit_fen })
}

fn split() -> impl Strategy<Value = MonthlySplit> {
    prop_oneof![
        Just(MonthlySplit::Even),
        prop::array::uniform12(0u64..50_000)
            .prop_filter("a positive weight", |w| w.iter().any(|w| *w > 0))
            .prop_map(MonthlySplit::Weights),
    ]
}

/// Up to three bands with increasing bounds (steps of at most 30 %, so at most 90 %).
fn bands() -> impl Strategy<Value = Vec<OverspendBand>> {
    prop::collection::vec((1u32..=3_000, 0u32..=10_000), 0..=3).prop_map(|steps| {
        let mut up_to = 0;
        steps
            .into_iter()
            .map(|(step, share)| {
                up_to += step;
                OverspendBand {
                    up_to: Ratio(up_to),
                    fund_share: Ratio(share),
                }
            })
            .collect()
    })
}

fn policy() -> impl Strategy<Value = PaymentPolicy> {
    (
        rounding(),
        split(),
        prop_oneof![Just(QuotaMode::PerMonth), Just(QuotaMode::Cumulative)],
        0u32..=10_000,
        0u32..=2_000,
        bands(),
    )
        .prop_map(
            |(rounding, monthly_split, monthly_quota, surplus, reserve, overspend_bands)| {
                PaymentPolicy {
                    name: None,
                    region: None,
                    provenance: None,
                    rounding,
                    budget: BudgetRules {
                        monthly_split,
                        monthly_quota,
                        surplus_retained_max: Ratio(surplus),
                        overspend_bands,
                        reserve_withheld: Ratio(reserve),
                        reserve_release: Vec::new(),
                        q4: None,
                        controls: Controls::default(),
                        cut_index_for_months_without_claims: false,
                    },
                    procurement: None,
                }
            },
        )
}

fn months() -> impl Strategy<Value = [MonthInput; MONTHS]> {
    prop::array::uniform12((0i64..=2_000_000_000, 0i64..=300_000_000, 0i64..=500_000_000)).prop_map(
        |months| {
            months.map(|(claims, deductions, offset)| MonthInput {
                claims: Fen(claims),
                deductions: Fen(deductions),
                prepayment_offset: Fen(offset),
                procurement_offset: Fen::ZERO,
            })
        },
    )
}

fn budget(index_fen: i64) -> Budget {
    Budget {
        fixmedins_code: "H36040000001".into(),
        insutype: Code::lit("310"),
        year: 2025,
        annual_index: Fen(index_fen),
        limits: Default::default(),
    }
}

fn year(policy: &PaymentPolicy, index_fen: i64, months: &[MonthInput; MONTHS]) -> InstitutionYear {
    run_year(policy, &budget(index_fen), months, &YearEndInput::default()).expect("a valid year")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn paid_and_deferred_add_up_to_the_net_claims(
        policy in policy(),
        index_fen in 1i64..=20_000_000_000,
        months in months(),
    ) {
        let year = year(&policy, index_fen, &months);
        let net: Fen = months.iter().map(|m| m.claims - m.deductions).sum();
        let paid: Fen = year.months.iter().map(|m| m.paid).sum();
        let deferred: Fen = year.months.iter().map(|m| m.deferred).sum();
        prop_assert_eq!(paid + deferred, net);
        prop_assert_eq!(year.year_end.paid + year.year_end.deferred, net);
        prop_assert_eq!(year.year_end.net_claims, net);
        let quotas: Fen = year.months.iter().map(|m| m.quota).sum();
        prop_assert_eq!(quotas, Fen(index_fen));
    }

    #[test]
    fn the_year_end_pays_final_less_what_was_paid(
        policy in policy(),
        index_fen in 1i64..=20_000_000_000,
        months in months(),
    ) {
        let year = year(&policy, index_fen, &months);
        let end = &year.year_end;
        let paid: Fen = year.months.iter().map(|m| m.paid).sum();
        prop_assert_eq!(end.year_end_payment, end.final_amount - paid);
        if end.overspend.is_zero() {
            prop_assert_eq!(end.final_amount, end.audited_claims + end.retained);
            prop_assert!(Fen::ZERO <= end.retained && end.retained <= end.surplus);
        } else {
            prop_assert_eq!(end.final_amount, end.index + end.fund_share);
            prop_assert!(Fen::ZERO <= end.fund_share && end.fund_share <= end.overspend);
            prop_assert_eq!(end.refused, end.overspend - end.fund_share);
        }
    }

    #[test]
    fn a_month_pays_within_its_quota_and_transfers_what_is_left(
        policy in policy(),
        index_fen in 1i64..=20_000_000_000,
        months in months(),
    ) {
        let year = year(&policy, index_fen, &months);
        for m in &year.months {
            match policy.budget.monthly_quota {
                QuotaMode::PerMonth => prop_assert!(m.paid <= m.quota),
                QuotaMode::Cumulative => prop_assert!(m.paid_to_date <= m.quota_to_date),
            }
            prop_assert_eq!(
                m.transfer + m.reserve_withheld + m.prepayment_offset + m.procurement_offset,
                m.paid
            );
            prop_assert!(m.prepayment_offset >= Fen::ZERO && m.reserve_withheld >= Fen::ZERO);
            if m.paid >= Fen::ZERO {
                prop_assert!(m.transfer >= Fen::ZERO);
            }
        }
        let offered: Fen = months.iter().map(|m| m.prepayment_offset).sum();
        let recovered: Fen = year.months.iter().map(|m| m.prepayment_offset).sum();
        prop_assert_eq!(recovered + year.months[MONTHS - 1].prepayment_outstanding, offered);
    }

    #[test]
    fn more_claims_never_lower_the_final_amount(
        policy in policy(),
        index_fen in 1i64..=20_000_000_000,
        months in months(),
        extra_fen in 1i64..=1_000_000_000,
    ) {
        let before = year(&policy, index_fen, &months).year_end.final_amount;
        let mut more = months;
        more[MONTHS - 1].claims += Fen(extra_fen);
        let after = year(&policy, index_fen, &more).year_end.final_amount;
        prop_assert!(after >= before, "{} then {}", before, after);
    }
}
