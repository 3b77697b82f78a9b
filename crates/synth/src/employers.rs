//! Employers and employment: in-service employees of each county are grouped into employers of
//! skewed sizes; flexible workers belong to one virtual employer per county; retirees keep a
//! former employer. Government staff are civil servants.

use crate::population::{Category, SynthPerson};
use crate::rng::{Draw, Stream};
use crate::tables::{
    Spread, COUNTIES, EMPLOYER_KINDS, EMPLOYER_MEDIAN_WAGE_FEN, EMPLOYER_SIZES, FIRM_TRADES,
    FIRM_WORDS, GOVERNMENT_OFFICES, PUBLIC_INSTITUTIONS,
};

/// One employer.
#[derive(Clone, Debug)]
pub struct Employer {
    pub emp_no: String,
    pub name: String,
    /// `enterprise`, `public_institution`, `government` or `virtual_flexible` (as in
    /// `yibao_enrolment::person::EmployerKind`).
    pub kind: &'static str,
    pub county: usize,
    pub median_wage_fen: i64,
    pub employees: u32,
    pub wage_total_fen: i64,
}

/// A worker's employment.
#[derive(Clone, Debug)]
pub struct Employment {
    pub person: usize,
    pub employer: usize,
    /// `employee` or `flexible`; retirees are listed with their former employer as `retired`.
    pub kind: &'static str,
    pub monthly_wage_fen: i64,
}

/// Employers and the employment of every worker; sets `civil_servant` on government staff.
pub fn generate(seed: u64, persons: &mut [SynthPerson]) -> (Vec<Employer>, Vec<Employment>) {
    let mut draw = Draw::new(seed, Stream::Employers, 0);
    let mut employers = Vec::new();
    let mut employment = Vec::new();
    for county in 0..COUNTIES.len() {
        let employees: Vec<usize> = workers_of(persons, county, |c| {
            c == Category::InService { flexible: false }
        });
        let first_real = employers.len();
        for chunk in chunks(&mut draw, &employees) {
            let index = employers.len();
            employers.push(new_employer(&mut draw, county, index));
            for &person in chunk {
                employment.push(hire(
                    &mut draw,
                    &mut employers[index],
                    index,
                    person,
                    "employee",
                ));
            }
        }
        let real_count = (employers.len() - first_real) as u64;
        let flexible = workers_of(persons, county, |c| {
            c == Category::InService { flexible: true }
        });
        if !flexible.is_empty() {
            let index = employers.len();
            employers.push(virtual_employer(county, index));
            for person in flexible {
                employment.push(hire(
                    &mut draw,
                    &mut employers[index],
                    index,
                    person,
                    "flexible",
                ));
            }
        }
        if real_count > 0 {
            for person in workers_of(persons, county, |c| c == Category::Retired) {
                let employer = first_real + draw.below(real_count) as usize;
                employment.push(Employment {
                    person,
                    employer,
                    kind: "retired",
                    monthly_wage_fen: 0,
                });
            }
        }
    }
    for job in &employment {
        persons[job.person].civil_servant = employers[job.employer].kind == "government";
    }
    (employers, employment)
}

fn workers_of(
    persons: &[SynthPerson],
    county: usize,
    wanted: impl Fn(Category) -> bool,
) -> Vec<usize> {
    persons
        .iter()
        .enumerate()
        .filter(|(_, p)| p.county == county && wanted(p.category))
        .map(|(i, _)| i)
        .collect()
}

/// Splits `people` into consecutive groups of employer sizes.
fn chunks<'a>(draw: &mut Draw, people: &'a [usize]) -> Vec<&'a [usize]> {
    let mut groups = Vec::new();
    let mut rest = people;
    while !rest.is_empty() {
        let (min, max, _) = EMPLOYER_SIZES[draw.weighted(EMPLOYER_SIZES.iter().map(|s| s.2))];
        let size = (draw.between(i64::from(min), i64::from(max)) as usize).min(rest.len());
        let (group, tail) = rest.split_at(size);
        groups.push(group);
        rest = tail;
    }
    groups
}

fn emp_no(county: usize, index: usize) -> String {
    format!("{}{:08}", COUNTIES[county].admdvs, index + 1)
}

fn new_employer(draw: &mut Draw, county: usize, index: usize) -> Employer {
    let kind = EMPLOYER_KINDS[draw.weighted(EMPLOYER_KINDS.iter().map(|k| k.1))].0;
    let place = COUNTIES[county].name;
    let name = match kind {
        "government" => format!("{place}{}", draw.pick(&GOVERNMENT_OFFICES)),
        "public_institution" => format!("{place}{}", draw.pick(&PUBLIC_INSTITUTIONS)),
        _ => format!(
            "九江{}{}有限公司",
            draw.pick(&FIRM_WORDS),
            draw.pick(&FIRM_TRADES)
        ),
    };
    let premium_percent = if kind == "enterprise" { 100 } else { 115 };
    Employer {
        emp_no: emp_no(county, index),
        name: format!("{name}({:04})", index + 1),
        kind,
        county,
        median_wage_fen: draw.lognormal(EMPLOYER_MEDIAN_WAGE_FEN, Spread::Narrow, 200_000)
            * premium_percent
            / 100,
        employees: 0,
        wage_total_fen: 0,
    }
}

fn virtual_employer(county: usize, index: usize) -> Employer {
    Employer {
        emp_no: emp_no(county, index),
        name: format!("{}灵活就业人员(虚拟单位)", COUNTIES[county].name),
        kind: "virtual_flexible",
        county,
        median_wage_fen: EMPLOYER_MEDIAN_WAGE_FEN * 80 / 100,
        employees: 0,
        wage_total_fen: 0,
    }
}

/// A wage around the employer's median, in whole yuan.
fn hire(
    draw: &mut Draw,
    employer: &mut Employer,
    index: usize,
    person: usize,
    kind: &'static str,
) -> Employment {
    let wage_fen = draw.lognormal(employer.median_wage_fen, Spread::Narrow, 150_000) / 100 * 100;
    employer.employees += 1;
    employer.wage_total_fen += wage_fen;
    Employment {
        person,
        employer: index,
        kind,
        monthly_wage_fen: wage_fen,
    }
}
