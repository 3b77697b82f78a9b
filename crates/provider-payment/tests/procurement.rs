//! Property tests of the procurement prepayment (采购周转金) and its offsets, and of the retained
//! savings (结余留用), over random offset periods, roundings and years of claims.

use proptest::prelude::*;
use yibao_domain::{Code, Fen, Ratio, Rounding, RoundingMode};
use yibao_provider_payment::procurement::{
    plan_prepayment, prepayment_amount, OffsetSplit, PrepaymentBasis, ProcurementRules,
};
use yibao_provider_payment::{
    run_year, Budget, InstitutionYear, MonthInput, PaymentPolicy, YearEndInput, MONTHS,
};

const POLICY: &str = include_str!("../../../policies/payment/jiujiang-budget.toml");

fn policy(rules: ProcurementRules, rounding: Rounding) -> PaymentPolicy {
    let mut policy = PaymentPolicy::parse(POLICY).expect("the shipped policy loads");
    policy.rounding = rounding;
    policy.procurement = Some(rules);
    policy
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

/// An offset period: a delay of 0–3 months and 1–9 months, even or by shares adding up to 1.
fn rules() -> impl Strategy<Value = ProcurementRules> {
    (
        0u8..=3,
        prop_oneof![
            (1u8..=9).prop_map(OffsetSplit::Even),
            prop::collection::vec(1u32..=100, 1..=9).prop_map(|weights| {
                let total: u32 = weights.iter().sum();
                let mut shares: Vec<Ratio> =
                    weights.iter().map(|w| Ratio(w * 10_000 / total)).collect();
                let given: u32 = shares.iter().map(|s| s.bp()).sum();
                shares[0] = Ratio(shares[0].bp() + 10_000 - given);
                OffsetSplit::Shares(shares)
            }),
        ],
        0u32..=10_000,
        0u32..=10_000,
    )
        .prop_map(|(delay, split, prepaid, retained)| ProcurementRules {
            prepayment_basis: PrepaymentBasis::ProcurementVolume,
            prepayment_ratio: Ratio(prepaid),
            offset_start_after_months: delay,
            offset_split: split,
            savings_retained: Ratio(retained),
        })
}

fn months() -> impl Strategy<Value = [MonthInput; MONTHS]> {
    prop::array::uniform12((0i64..=2_000_000_000, 0i64..=300_000_000)).prop_map(|months| {
        months.map(|(claims, deductions)| MonthInput {
            claims: Fen(claims),
            deductions: Fen(deductions),
            ..MonthInput::default()
        })
    })
}

/// A year with the prepayment's schedule in its months, or `None` when the period does not fit.
fn year_with(
    policy: &PaymentPolicy,
    index_fen: i64,
    month: u8,
    amount: Fen,
    months: &[MonthInput; MONTHS],
    savings: Fen,
) -> Option<(InstitutionYear, [Fen; MONTHS])> {
    let budget = budget(index_fen);
    let prepayment = plan_prepayment(policy, &budget, month, amount).ok()?;
    let mut inputs = *months;
    for (input, due) in inputs.iter_mut().zip(prepayment.offsets) {
        input.procurement_offset = due;
    }
    let end = YearEndInput {
        procurement_savings: savings,
        ..YearEndInput::default()
    };
    let year = run_year(policy, &budget, &inputs, &end).expect("a valid year");
    Some((year, prepayment.offsets))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_schedule_adds_up_to_the_prepayment_within_its_period(
        rules in rules(),
        rounding in rounding(),
        month in 1u8..=12,
        volume_fen in 1i64..=50_000_000_000,
    ) {
        let policy = policy(rules.clone(), rounding);
        let budget = budget(1_000_000);
        let amount = prepayment_amount(&policy, &budget, Fen(volume_fen)).unwrap();
        prop_assume!(amount.fen() > 0);
        let first = usize::from(month) + usize::from(rules.offset_start_after_months);
        let last = first + rules.offset_split.months() - 1;
        match plan_prepayment(&policy, &budget, month, amount) {
            Ok(plan) => {
                prop_assert!(last <= MONTHS);
                prop_assert!(plan.is_consistent());
                let outside = plan.offsets.iter().enumerate()
                    .filter(|(i, _)| *i + 1 < first || *i + 1 > last)
                    .all(|(_, o)| o.is_zero());
                prop_assert!(outside, "{:?}", plan.offsets);
            }
            Err(error) => {
                prop_assert!(last > MONTHS, "{error}");
                prop_assert_eq!(error.field, "procurement.month");
            }
        }
    }

    #[test]
    fn offsets_recover_the_prepayment_by_the_year_end(
        rules in rules(),
        rounding in rounding(),
        index_fen in 1i64..=20_000_000_000,
        month in 1u8..=12,
        amount_fen in 1i64..=5_000_000_000,
        months in months(),
        savings_fen in 0i64..=1_000_000_000,
    ) {
        let policy = policy(rules, rounding);
        let Some((year, due)) = year_with(
            &policy, index_fen, month, Fen(amount_fen), &months, Fen(savings_fen),
        ) else {
            return Ok(());
        };
        let recovered: Fen = year.months.iter().map(|m| m.procurement_offset).sum();
        let end = &year.year_end;
        // Every fen is recovered once: in the months, the rest at the year-end.
        prop_assert_eq!(recovered + end.procurement_recovered, Fen(amount_fen));
        let mut due_to_date = Fen::ZERO;
        let mut recovered_to_date = Fen::ZERO;
        for (m, due) in year.months.iter().zip(due) {
            due_to_date += due;
            recovered_to_date += m.procurement_offset;
            prop_assert_eq!(m.procurement_outstanding, due_to_date - recovered_to_date);
            prop_assert!(m.procurement_offset >= Fen::ZERO && m.procurement_offset <= due_to_date);
            // The monthly identities still hold with the procurement offsets taken.
            prop_assert_eq!(
                m.transfer + m.reserve_withheld + m.prepayment_offset + m.procurement_offset,
                m.paid
            );
            if m.paid >= Fen::ZERO {
                prop_assert!(m.transfer >= Fen::ZERO);
            }
        }
        // Each month recovers what is due (with what earlier months left) up to what it transfers
        // after the prepayment offset; so once the period is over with room in every month,
        // Σ offsets = the prepayment.
        let mut outstanding = Fen::ZERO;
        for (m, due) in year.months.iter().zip(due) {
            let room = (m.paid - m.reserve_withheld - m.prepayment_offset).clamp_non_negative();
            prop_assert_eq!(m.procurement_offset, (outstanding + due).min(room));
            outstanding = m.procurement_outstanding;
        }
        let net: Fen = months.iter().map(|m| m.claims - m.deductions).sum();
        let paid: Fen = year.months.iter().map(|m| m.paid).sum();
        let deferred: Fen = year.months.iter().map(|m| m.deferred).sum();
        prop_assert_eq!(paid + deferred, net);
        prop_assert_eq!(end.year_end_payment, end.final_amount - paid);
        prop_assert_eq!(
            end.procurement_retained,
            policy.rounding.apply(Fen(savings_fen), policy.procurement.as_ref().unwrap().savings_retained)
        );
    }

    #[test]
    fn the_prepayment_does_not_change_what_is_paid_or_cleared(
        rules in rules(),
        index_fen in 1i64..=20_000_000_000,
        month in 1u8..=12,
        amount_fen in 1i64..=5_000_000_000,
        months in months(),
    ) {
        let policy = policy(rules, Rounding::default());
        let Some((with, _)) = year_with(&policy, index_fen, month, Fen(amount_fen), &months, Fen::ZERO) else {
            return Ok(());
        };
        let without = run_year(&policy, &budget(index_fen), &months, &YearEndInput::default()).unwrap();
        for (a, b) in with.months.iter().zip(&without.months) {
            prop_assert_eq!(a.paid, b.paid);
            prop_assert_eq!(a.deferred, b.deferred);
            prop_assert_eq!(a.transfer + a.procurement_offset, b.transfer);
        }
        prop_assert_eq!(with.year_end.final_amount, without.year_end.final_amount);
        prop_assert_eq!(with.year_end.year_end_payment, without.year_end.year_end_payment);
    }
}

/// The shipped policy's example: 30 % of a previous-year procurement of 1,200,000.00 prepaid in
/// January, recovered over February–November (10 months of 36,000.00) from months that transfer
/// enough: Σ offsets = the prepayment by November, nothing left for the year-end; 50 % of
/// 80,000.00 savings retained.
#[test]
fn a_prepayment_recovered_over_ten_months() {
    let policy = PaymentPolicy::parse(POLICY).unwrap();
    let budget = budget(Fen::from_yuan(12_000_000).fen());
    let amount = prepayment_amount(&policy, &budget, Fen::from_yuan(1_200_000)).unwrap();
    assert_eq!(amount, Fen::from_yuan(360_000));
    let plan = plan_prepayment(&policy, &budget, 1, amount).unwrap();
    let mut expected = [Fen::from_yuan(36_000); MONTHS];
    expected[0] = Fen::ZERO;
    expected[11] = Fen::ZERO;
    assert_eq!(plan.offsets, expected);
    let months = [MonthInput {
        claims: Fen::from_yuan(1_000_000),
        ..MonthInput::default()
    }; MONTHS];
    let (year, _) = year_with(
        &policy,
        budget.annual_index.fen(),
        1,
        amount,
        &months,
        Fen::from_yuan(80_000),
    )
    .unwrap();
    let through_november: Fen = year.months[..11].iter().map(|m| m.procurement_offset).sum();
    assert_eq!(through_november, amount);
    assert_eq!(
        year.months[1].transfer,
        Fen::from_yuan(1_000_000 - 50_000 - 36_000)
    );
    assert_eq!(year.year_end.procurement_recovered, Fen::ZERO);
    assert_eq!(year.year_end.procurement_retained, Fen::from_yuan(40_000));
    let late = plan_prepayment(&policy, &budget, 3, amount).unwrap_err();
    assert_eq!(late.field, "procurement.month");
}
