//! Randomized invariants over cases drawn from the oracle sample's codes: results are consistent
//! (MDC and ADRG follow from the DRG), tracing does not change them, and the scratch buffers carry
//! nothing from one case to the next. The seed is printed; set `YIBAO_TEST_SEED` to replay.

use yibao_drg_grouper::{parse_json_case, Case, GrouperSet, LoadOptions, Scratch, Status};

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn seed() -> u64 {
    yibao_testdata::random_seed("YIBAO_TEST_SEED").max(1)
}

#[test]
fn random_cases_keep_the_result_invariants() {
    let Some(dir) = yibao_testdata::chs_drg() else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("oracle-sample.jsonl")).expect("oracle sample");
    let oracle: Vec<Case> = text
        .lines()
        .enumerate()
        .map(|(i, l)| parse_json_case(l, i + 1).expect("case"))
        .collect();
    let diagnoses: Vec<&str> = oracle
        .iter()
        .flat_map(|c| c.diagnoses.iter().map(String::as_str))
        .collect();
    let procedures: Vec<&str> = oracle
        .iter()
        .flat_map(|c| c.procedures.iter().map(String::as_str))
        .collect();
    let set = GrouperSet::open(&dir, None, LoadOptions::default()).expect("rules");
    let mut rng = Rng(seed());
    let mut shared = Scratch::default();
    let mut trace = Vec::new();
    for _ in 0..20_000 {
        let template = &oracle[rng.below(oracle.len())];
        let grouper = set.get(template.version.as_deref()).expect("version");
        let zd: Vec<&str> = (0..rng.below(6))
            .map(|_| diagnoses[rng.below(diagnoses.len())])
            .collect();
        let ss: Vec<&str> = (0..rng.below(4))
            .map(|_| procedures[rng.below(procedures.len())])
            .collect();
        let got = grouper.group(&template.patient, &zd, &ss, &mut shared);
        trace.clear();
        let traced = grouper.group_traced(
            &template.patient,
            &zd,
            &ss,
            &mut Scratch::default(),
            &mut trace,
        );
        assert_eq!(got, traced, "{zd:?} {ss:?}");
        match got.status {
            Status::Success => {
                assert_eq!(got.mdc, format!("MDC{}", &got.drg[..1]));
                assert_eq!(got.adrg, &got.drg[..3]);
                assert!(trace.iter().any(|m| m.contains(got.adrg)), "{trace:?}");
            }
            Status::CheckFailed => {
                assert!(zd.is_empty(), "only empty diagnoses fail the check here")
            }
            _ => assert_eq!((got.mdc, got.adrg, got.drg), ("0000", "00", "0000")),
        }
    }
}
