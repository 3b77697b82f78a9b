//! The books balance, months payable follow the formula, and the published source figures are
//! reproduced where they are consistent (clearing-and-budgets.md §5–§6).

use chrono::NaiveDate;
use yibao_books::{
    BookPosting, Flow, FundInfo, FundPayment, MonthsPayable, Period, Report, SettlementTotals,
};
use yibao_domain::{Code, Fen, Ratio, Rounding, SetlAmounts};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn wan(text: &str) -> Fen {
    // 万元 → fen: ×10,000 yuan.
    Fen(Fen::parse_yuan(text).expect("amount").fen() * 10_000)
}

fn fund(code: &str, insutype: &str) -> FundInfo {
    FundInfo {
        code: Code::lit(code),
        name: format!("fund {code}"),
        insutype: Code::lit(insutype),
    }
}

fn posting(code: &str, date: NaiveDate, flow: Flow, amount: Fen) -> BookPosting {
    BookPosting {
        fund: Code::lit(code),
        date,
        flow,
        amount,
    }
}

/// 衡阳县 2021 residents: income 81,124; basic 74,820; vaccines 10,047.3; accident 5,373; 大病 5,129;
/// risk reserve 1,884 → current −16,129.3 (万元), as the source states.
#[test]
fn hengyang_residents_2021_current_balance() {
    let funds = [fund("390100", "390")];
    let postings = vec![
        posting(
            "390100",
            day(2021, 6, 30),
            Flow::IndividualContribution,
            wan("81124"),
        ),
        posting(
            "390100",
            day(2021, 12, 31),
            Flow::OtherExpenditure,
            wan("10047.3"),
        ),
        posting(
            "390100",
            day(2021, 12, 31),
            Flow::OtherExpenditure,
            wan("5373"),
        ),
        posting(
            "390100",
            day(2021, 12, 31),
            Flow::OtherExpenditure,
            wan("5129"),
        ),
        posting("390100", day(2021, 12, 31), Flow::Reserve, wan("1884")),
    ];
    let payments = vec![FundPayment {
        fund: Code::lit("390100"),
        date: day(2021, 9, 1),
        amount: wan("74820"),
    }];
    let report = Report::build(
        &funds,
        &[(Code::lit("390"), 950_978)],
        &postings,
        &payments,
        &[],
        Period::Year(2021),
        Rounding::default(),
    )
    .unwrap();
    let row = &report.funds[0];
    assert_eq!(row.insured, 950_978);
    assert_eq!(row.current_balance, -wan("16129.3"));
    assert_eq!(row.settlement_expenditure, wan("74820"));
    assert_eq!(row.expenditure, wan("97253.3"));
}

/// A 2016 city report: workers income 23,963.97, expenditure 14,463.78 → current 9,500.19 (stated);
/// accumulated 30,800.82 → naive months 30,800.82 / (14,463.78 / 12) = 25.6 (the stated 19 uses
/// another scope, so the formula is asserted, not the published 19).
#[test]
fn city_2016_workers_months_payable() {
    let funds = [fund("310100", "310")];
    let opening = wan("30800.82") - (wan("23963.97") - wan("14463.78"));
    let postings = vec![
        posting("310100", day(2015, 12, 31), Flow::BroughtForward, opening),
        posting(
            "310100",
            day(2016, 3, 1),
            Flow::EmployerContribution,
            wan("23963.97"),
        ),
    ];
    let payments = vec![FundPayment {
        fund: Code::lit("310100"),
        date: day(2016, 7, 1),
        amount: wan("14463.78"),
    }];
    let report = Report::build(
        &funds,
        &[],
        &postings,
        &payments,
        &[],
        Period::Year(2016),
        Rounding::default(),
    )
    .unwrap();
    let row = &report.funds[0];
    assert_eq!(row.current_balance, wan("9500.19"));
    assert_eq!(row.accumulated_balance, wan("30800.82"));
    assert_eq!(
        row.income,
        wan("23963.97"),
        "a balance brought forward is not income"
    );
    assert_eq!(row.months_payable, Some(MonthsPayable(256)));
    assert_eq!(row.months_payable.unwrap().to_string(), "25.6");
}

/// clearing-and-budgets.md §5: 1.8亿 / 0.25亿 per month = 7.2 months.
#[test]
fn months_payable_example() {
    let funds = [fund("390100", "390")];
    let postings = vec![posting(
        "390100",
        day(2024, 1, 1),
        Flow::BroughtForward,
        wan("18000") + wan("3000"),
    )];
    let payments = vec![FundPayment {
        fund: Code::lit("390100"),
        date: day(2024, 5, 1),
        amount: wan("3000"),
    }];
    let report = Report::build(
        &funds,
        &[],
        &postings,
        &payments,
        &[],
        Period::Year(2024),
        Rounding::default(),
    )
    .unwrap();
    assert_eq!(report.funds[0].accumulated_balance, wan("18000"));
    assert_eq!(report.funds[0].average_monthly_expenditure, wan("250"));
    assert_eq!(report.funds[0].months_payable, Some(MonthsPayable(720)));
}

/// For every fund and every month: income − expenditure = change in accumulated balance.
#[test]
fn books_balance_month_by_month() {
    let funds = [fund("390100", "390"), fund("390200", "390")];
    let mut postings = Vec::new();
    let mut payments = Vec::new();
    for m in 1..=12u32 {
        postings.push(posting(
            "390100",
            day(2025, m, 3),
            Flow::IndividualContribution,
            Fen(1_000_000 + i64::from(m) * 7_919),
        ));
        postings.push(posting(
            "390100",
            day(2025, m, 4),
            Flow::FiscalSubsidy,
            Fen(1_700_000 - i64::from(m) * 311),
        ));
        postings.push(posting(
            "390200",
            day(2025, m, 5),
            Flow::TransferIn,
            Fen(90_000),
        ));
        payments.push(FundPayment {
            fund: Code::lit("390100"),
            date: day(2025, m, 20),
            amount: Fen(2_100_000 + i64::from(m * m) * 1_000),
        });
        payments.push(FundPayment {
            fund: Code::lit("390200"),
            date: day(2025, m, 21),
            amount: Fen(70_000),
        });
        if m % 4 == 0 {
            payments.push(FundPayment {
                fund: Code::lit("390100"),
                date: day(2025, m, 22),
                amount: Fen(-15_000),
            });
            postings.push(posting(
                "390100",
                day(2025, m, 28),
                Flow::Reserve,
                Fen(12_345),
            ));
        }
    }
    let mut previous = vec![Fen::ZERO; funds.len()];
    let mut yearly_current = vec![Fen::ZERO; funds.len()];
    for m in 1..=12 {
        let report = Report::build(
            &funds,
            &[],
            &postings,
            &payments,
            &[],
            Period::Month(2025, m),
            Rounding::default(),
        )
        .unwrap();
        for (i, row) in report.funds.iter().enumerate() {
            assert_eq!(row.current_balance, row.income - row.expenditure);
            assert_eq!(
                row.accumulated_balance - previous[i],
                row.current_balance,
                "fund {} month {m}",
                row.fund
            );
            previous[i] = row.accumulated_balance;
            yearly_current[i] += row.current_balance;
        }
    }
    let year = Report::build(
        &funds,
        &[],
        &postings,
        &payments,
        &[],
        Period::Year(2025),
        Rounding::default(),
    )
    .unwrap();
    for (i, row) in year.funds.iter().enumerate() {
        assert_eq!(row.current_balance, yearly_current[i]);
        assert_eq!(row.accumulated_balance, previous[i]);
    }
}

#[test]
fn one_stop_breakdown_and_ratio() {
    let amounts = SetlAmounts {
        medfee_sumamt: Fen::from_yuan(60_000),
        hifp_pay: Fen::from_yuan(32_040),
        hifmi_pay: Fen::from_yuan(8_749),
        maf_pay: Fen(924_770),
        fund_pay_sumamt: Fen(5_003_670),
        psn_cash_pay: Fen(996_330),
        ..SetlAmounts::default()
    };
    let base = SettlementTotals {
        count: 1,
        insutype: Code::lit("390"),
        date: day(2025, 3, 1),
        amounts,
    };
    let cancelled = SettlementTotals {
        count: -1,
        amounts: amounts.negated(),
        ..base
    };
    let report = Report::build(
        &[],
        &[],
        &[],
        &[],
        &[base, base, cancelled],
        Period::Year(2025),
        Rounding::default(),
    )
    .unwrap();
    let row = &report.breakdown[0];
    assert_eq!(row.settlements, 1);
    assert_eq!(row.fund_pay_sumamt, Fen(5_003_670));
    assert_eq!(row.reimbursement_ratio, Ratio(8339));
    assert!(yibao_books::render_table(&report).contains("83.39%"));
}

#[test]
fn unknown_fund_and_bad_month_are_errors() {
    let postings = vec![posting("999999", day(2025, 1, 1), Flow::Interest, Fen(1))];
    let err = Report::build(
        &[fund("390100", "390")],
        &[],
        &postings,
        &[],
        &[],
        Period::Year(2025),
        Rounding::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("999999"));
    let err = Report::build(
        &[],
        &[],
        &[],
        &[],
        &[],
        Period::Month(2025, 13),
        Rounding::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("13"));
}

#[test]
fn csv_and_json_render() {
    let funds = [fund("390100", "390")];
    let postings = vec![posting(
        "390100",
        day(2025, 1, 2),
        Flow::IndividualContribution,
        Fen(12_345),
    )];
    let report = Report::build(
        &funds,
        &[(Code::lit("390"), 3)],
        &postings,
        &[],
        &[],
        Period::Year(2025),
        Rounding::default(),
    )
    .unwrap();
    let csv = yibao_books::render_csv(&report);
    assert!(csv.starts_with("period,fund,"));
    assert!(
        csv.contains("2025,390100,fund 390100,390,3,123.45,0.00,0.00,123.45,123.45,0.00,\n"),
        "{csv}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["funds"][0]["income"], "123.45");
    assert!(json["funds"][0]["months_payable"].is_null());
}

/// Clearing postings show what regions owe each other and the hospitals, and move neither income,
/// expenditure nor the balance; one on a fund the platform does not know (a code the treating
/// platform answered, 910100) is shown, not refused.
#[test]
fn clearing_flows_are_shown_and_leave_the_balance_alone() {
    let funds = [fund("390100", "390")];
    let mut postings = vec![posting(
        "390100",
        day(2026, 1, 1),
        Flow::BroughtForward,
        wan("100"),
    )];
    let without = Report::build(
        &funds,
        &[],
        &postings,
        &[],
        &[],
        Period::Month(2026, 3),
        Rounding::default(),
    )
    .unwrap();
    postings.extend([
        posting(
            "390100",
            day(2026, 3, 31),
            Flow::ClearingPayable,
            Fen(123_456),
        ),
        posting(
            "910100",
            day(2026, 3, 31),
            Flow::ClearingReceivable,
            Fen(7_890),
        ),
        posting(
            "910100",
            day(2026, 3, 31),
            Flow::ClearingOwedToHospitals,
            Fen(7_890),
        ),
        posting("390100", day(2026, 4, 30), Flow::ClearingPayable, Fen(1)),
        posting(
            "390100",
            day(2026, 3, 31),
            Flow::ClearingPayableAudit,
            Fen(456),
        ),
        posting(
            "390100",
            day(2026, 3, 20),
            Flow::ClearingPayableSettled,
            Fen(123_000),
        ),
        posting(
            "910100",
            day(2026, 3, 20),
            Flow::ClearingPaidToHospitals,
            Fen(7_000),
        ),
    ]);
    let report = Report::build(
        &funds,
        &[],
        &postings,
        &[],
        &[],
        Period::Month(2026, 3),
        Rounding::default(),
    )
    .unwrap();
    assert_eq!(report.funds, without.funds);
    assert_eq!(report.clearing.len(), 2);
    assert_eq!(
        (report.clearing[0].fund.as_str(), report.clearing[0].payable),
        ("390100", Fen(123_456))
    );
    assert_eq!(
        (
            report.clearing[1].receivable,
            report.clearing[1].owed_to_hospitals
        ),
        (Fen(7_890), Fen(7_890))
    );
    assert_eq!(
        (
            report.clearing[0].payable_audit,
            report.clearing[0].payable_settled,
            report.clearing[1].paid_to_hospitals
        ),
        (Fen(456), Fen(123_000), Fen(7_000))
    );
    let table = yibao_books::render_table(&report);
    assert!(table.contains("异地就医清算（参保地）"), "{table}");
    assert!(table.contains("异地就医清算（就医地）"), "{table}");
    assert!(
        table.contains("1230.00") && table.contains("4.56"),
        "{table}"
    );
}
