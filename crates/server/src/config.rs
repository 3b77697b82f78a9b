//! Service configuration: defaults, then a TOML file, then `YIBAO_*` environment variables; the
//! command line overrides all of them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Which gateway authentication scheme guards `callService`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No gateway check (local development and tests).
    None,
    /// `_api_*` headers signed with HMAC-SHA1 (Hunan CSB).
    Csb,
    /// `x-tif-*` headers with a SHA-256 signature.
    Tif,
}

impl AuthMode {
    /// Reads `none`, `csb` or `tif`.
    pub fn parse(text: &str) -> Result<AuthMode, ConfigError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(AuthMode::None),
            "csb" => Ok(AuthMode::Csb),
            "tif" => Ok(AuthMode::Tif),
            other => Err(ConfigError::Invalid {
                key: "auth",
                problem: format!("`{other}` is not none, csb or tif"),
            }),
        }
    }
}

/// Everything `yibao serve` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Directory of the embedded SQLite database (used when `database` is empty).
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite:…`; empty means SQLite under `data_dir`.
    pub database: String,
    pub auth: AuthMode,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, idle keep-alive time included, ms.
    pub header_timeout_ms: u64,
    /// Time a client has to send a request's body, ms.
    pub body_timeout_ms: u64,
    /// Bearer token for `/admin/*`; without one the admin API is off unless `admin_open` is set.
    pub admin_token: String,
    /// Serve the admin API without a token: local development only, never on a shared network.
    pub admin_open: bool,
    /// Largest accepted admin request body (bulk person registration, catalogues).
    pub admin_body_limit_bytes: usize,
    /// Gateway prefix in front of `/fsi/api/…` (e.g. `/ebus/mbs_fsi_auth`).
    pub path_prefix: String,
    /// Most write jobs per durable commit.
    pub max_batch: usize,
    /// Accepted clock skew of gateway timestamps, seconds.
    pub auth_window_secs: i64,
    /// The pooling region the service is the platform of (6 digits): it begins every issued
    /// `inf_refmsgid`, `mdtrt_id` and `setl_id`.
    pub platform_admdvs: String,
    /// How far, in seconds, a care or settlement time (`begntime`, `endtime`, `dscgTime`,
    /// `fee_ocur_time`) may lie after the time its message was received: only the clock difference
    /// between the HIS and the service, so the default is the gateway's accepted skew (30 minutes).
    pub future_tolerance_secs: u64,
    /// Seconds added to the system clock when a message's receipt time is read (the time its care
    /// and settlements are recorded at): a platform rehearsed or tested as of another day; 0 in
    /// service.
    pub clock_offset_secs: i64,
    /// Secret that signs 医保电子凭证 tokens (`mdtrt_cert_type` 01); empty: e-vouchers are off.
    pub evoucher_secret: String,
    /// How long an issued e-voucher token is accepted, seconds.
    pub evoucher_ttl_secs: u64,
    /// Largest file accepted by 9101 (decoded bytes) and largest text unpacked from a ZIP the service
    /// reads (a 3202 detail file); the file routes accept bodies of its base64 size plus 64 KiB.
    pub file_limit_bytes: usize,
    /// How long an uploaded or issued file can be downloaded (its `dld_endtime`), seconds.
    pub file_ttl_secs: u64,
    /// Other platforms (`[[peers]]`): where persons insured elsewhere are settled, and who may call
    /// this platform's inter-platform API (`crate::peer`).
    pub peers: Vec<PeerConfig>,
    /// How long one inter-platform call may take, ms.
    pub peer_timeout_ms: u64,
    /// How many times an inter-platform call is sent before its outcome counts as unknown.
    pub peer_attempts: u32,
    /// Folder of the real-time audit's rule set (`rules.toml`, `knowledge.toml`, `models.toml`);
    /// empty: the shipped 九江 set.
    pub audit_rules_dir: Option<PathBuf>,
    /// The cross-region clearing policy (`policies/clearing/`) the admin API applies a rejected
    /// clearing again with (`POST /admin/clearings/{clr_id}/resubmit`): the one months are run with.
    pub clearing_policy: PathBuf,
    /// Whether fee upload (2204/2301, the lines of 2101/2102) makes the lines a `self_pay` rule
    /// flags 全自费; off: 3101/3102 only say so.
    pub audit_enforce_at_upload: bool,
    /// Persons whose history the real-time audit holds in memory (`crate::care_state`); 0: none,
    /// every analysis reads the person's history from the ledger.
    pub audit_state_persons: usize,
    /// Whether `yibao serve` reads the persons of open stays and recent care into that state at
    /// start, in the background (`crate::care_state::warm_in_background`); off: each person is
    /// read on their first analysis.
    pub audit_state_warm: bool,
    /// Pooling regions each in a database of its own (`[[regions]]`): when any is listed,
    /// `yibao serve` is a front routing each national message to its insured region's service
    /// (`crate::region_front`); `database`/`data_dir` are then not used.
    pub regions: Vec<RegionDatabase>,
}

/// One pooling region of a province in a database of its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionDatabase {
    /// The pooling region (6 digits, e.g. `360100`); messages whose insured place lies in it go to
    /// its database.
    pub admdvs: String,
    /// `postgres://…` (or `sqlite:…`) of the region's database.
    pub database_url: String,
}

/// One other platform: the insured places it hosts and the credentials of the pair. Both platforms
/// list each other with the same `access_key` and `secret`: this platform signs its calls with them,
/// and accepts a call signed with them as coming from that platform.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Insured places (`insuplc_admdvs`) whose first digits are these go to this platform (1–6
    /// digits; the longest matching prefix wins).
    pub admdvs_prefix: String,
    /// `http://host:port` of the platform (its inter-platform API is below `/peer/v1/`).
    pub url: String,
    pub access_key: String,
    pub secret: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("yibao-data"),
            database: String::new(),
            auth: AuthMode::None,
            body_limit_bytes: 4 * 1024 * 1024,
            max_connections: 4096,
            header_timeout_ms: 30_000,
            body_timeout_ms: 30_000,
            admin_token: String::new(),
            admin_open: false,
            admin_body_limit_bytes: 64 * 1024 * 1024,
            path_prefix: String::new(),
            max_batch: 256,
            auth_window_secs: 30 * 60,
            platform_admdvs: "360400".into(),
            future_tolerance_secs: 30 * 60,
            clock_offset_secs: 0,
            evoucher_secret: String::new(),
            evoucher_ttl_secs: 5 * 60,
            file_limit_bytes: 8 * 1024 * 1024,
            file_ttl_secs: 3 * 24 * 60 * 60,
            peers: Vec::new(),
            peer_timeout_ms: 5_000,
            peer_attempts: 3,
            audit_rules_dir: None,
            clearing_policy: PathBuf::from("policies/clearing/jiangxi.toml"),
            audit_enforce_at_upload: false,
            audit_state_persons: 100_000,
            audit_state_warm: true,
            regions: Vec::new(),
        }
    }
}

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {problem}")]
    File { path: String, problem: String },
    #[error("config `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

impl Config {
    /// Defaults, overlaid by `file` (if any), overlaid by the environment.
    pub fn load(
        file: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply_env(env)?;
        check_admdvs("platform_admdvs", &config.platform_admdvs)?;
        check_clock_offset(config.clock_offset_secs)?;
        check_peers(&config)?;
        check_regions(&config.regions)?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let file_error = |problem: String| ConfigError::File {
            path: path.display().to_string(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        toml::from_str(&text).map_err(|e| file_error(e.to_string()))
    }

    /// Applies `YIBAO_LISTEN`, `YIBAO_DATA_DIR`, `YIBAO_DATABASE`, `YIBAO_AUTH`, `YIBAO_BODY_LIMIT_BYTES`,
    /// `YIBAO_MAX_CONNECTIONS`, `YIBAO_HEADER_TIMEOUT_MS`, `YIBAO_BODY_TIMEOUT_MS`, `YIBAO_ADMIN_TOKEN`,
    /// `YIBAO_ADMIN_OPEN`, `YIBAO_ADMIN_BODY_LIMIT_BYTES`, `YIBAO_PATH_PREFIX`, `YIBAO_MAX_BATCH`,
    /// `YIBAO_PLATFORM_ADMDVS`, `YIBAO_FUTURE_TOLERANCE_SECS`, `YIBAO_CLOCK_OFFSET_SECS`,
    /// `YIBAO_EVOUCHER_SECRET`, `YIBAO_EVOUCHER_TTL_SECS`, `YIBAO_FILE_LIMIT_BYTES`,
    /// `YIBAO_FILE_TTL_SECS`, `YIBAO_AUDIT_RULES_DIR`, `YIBAO_AUDIT_ENFORCE_AT_UPLOAD`,
    /// `YIBAO_CLEARING_POLICY`.
    pub fn apply_env(
        &mut self,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        for (key, value) in env {
            match key.as_str() {
                "YIBAO_LISTEN" => self.listen = value,
                "YIBAO_DATA_DIR" => self.data_dir = PathBuf::from(value),
                "YIBAO_DATABASE" => self.database = value,
                "YIBAO_AUTH" => self.auth = AuthMode::parse(&value)?,
                "YIBAO_BODY_LIMIT_BYTES" => {
                    self.body_limit_bytes = number("body_limit_bytes", &value)?
                }
                "YIBAO_MAX_CONNECTIONS" => {
                    self.max_connections = number("max_connections", &value)?
                }
                "YIBAO_HEADER_TIMEOUT_MS" => {
                    self.header_timeout_ms = number("header_timeout_ms", &value)?
                }
                "YIBAO_BODY_TIMEOUT_MS" => {
                    self.body_timeout_ms = number("body_timeout_ms", &value)?
                }
                "YIBAO_ADMIN_TOKEN" => self.admin_token = value,
                "YIBAO_ADMIN_OPEN" => self.admin_open = flag("admin_open", &value)?,
                "YIBAO_ADMIN_BODY_LIMIT_BYTES" => {
                    self.admin_body_limit_bytes = number("admin_body_limit_bytes", &value)?
                }
                "YIBAO_PATH_PREFIX" => self.path_prefix = value,
                "YIBAO_MAX_BATCH" => self.max_batch = number("max_batch", &value)?,
                "YIBAO_PLATFORM_ADMDVS" => self.platform_admdvs = value,
                "YIBAO_FUTURE_TOLERANCE_SECS" => {
                    self.future_tolerance_secs = number("future_tolerance_secs", &value)?
                }
                "YIBAO_CLOCK_OFFSET_SECS" => {
                    self.clock_offset_secs = number("clock_offset_secs", &value)?
                }
                "YIBAO_EVOUCHER_SECRET" => self.evoucher_secret = value,
                "YIBAO_EVOUCHER_TTL_SECS" => {
                    self.evoucher_ttl_secs = number("evoucher_ttl_secs", &value)?
                }
                "YIBAO_FILE_LIMIT_BYTES" => {
                    self.file_limit_bytes = number("file_limit_bytes", &value)?
                }
                "YIBAO_FILE_TTL_SECS" => self.file_ttl_secs = number("file_ttl_secs", &value)?,
                "YIBAO_AUDIT_ENFORCE_AT_UPLOAD" => {
                    self.audit_enforce_at_upload = flag("audit_enforce_at_upload", &value)?
                }
                "YIBAO_AUDIT_STATE_PERSONS" => {
                    self.audit_state_persons = number("audit_state_persons", &value)?
                }
                "YIBAO_CLEARING_POLICY" => self.clearing_policy = PathBuf::from(value),
                "YIBAO_AUDIT_STATE_WARM" => {
                    self.audit_state_warm = flag("audit_state_warm", &value)?
                }
                "YIBAO_AUDIT_RULES_DIR" => {
                    self.audit_rules_dir = (!value.is_empty()).then(|| PathBuf::from(value))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Refuses a region code that is not 6 digits (issued ids must be digits only).
fn check_admdvs(key: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        key,
        problem: format!("`{value}` is not a 6-digit region code"),
    })
}

/// The largest clock offset accepted, either way: a hundred years.
const CLOCK_OFFSET_MAX_SECS: i64 = 100 * 366 * 24 * 60 * 60;

fn check_clock_offset(secs: i64) -> Result<(), ConfigError> {
    if (-CLOCK_OFFSET_MAX_SECS..=CLOCK_OFFSET_MAX_SECS).contains(&secs) {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        key: "clock_offset_secs",
        problem: format!("`{secs}` is more than {CLOCK_OFFSET_MAX_SECS} seconds either way"),
    })
}

/// Each `[[regions]]` entry: a 6-digit region no other entry repeats and a database URL.
pub fn check_regions(regions: &[RegionDatabase]) -> Result<(), ConfigError> {
    for (i, region) in regions.iter().enumerate() {
        let at = |field: &str, problem: &str| ConfigError::Invalid {
            key: "regions",
            problem: format!("regions[{i}].{field}: {problem}"),
        };
        let admdvs = &region.admdvs;
        if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(at(
                "admdvs",
                &format!("`{admdvs}` is not a 6-digit region code"),
            ));
        }
        if regions[..i].iter().any(|r| r.admdvs == *admdvs) {
            return Err(at("admdvs", &format!("`{admdvs}` is listed twice")));
        }
        let url = region.database_url.trim();
        if url.is_empty() || url.len() > PEER_TEXT_MAX {
            return Err(at(
                "database_url",
                &format!("a database URL of 1–{PEER_TEXT_MAX} characters is required"),
            ));
        }
    }
    Ok(())
}

/// Longest accepted peer credential or URL.
const PEER_TEXT_MAX: usize = 512;

/// Each `[[peers]]` entry: a 1–6 digit prefix no other entry repeats, not one of this platform's
/// own region, an `http://` URL, credentials; bounded timeouts and attempts.
fn check_peers(config: &Config) -> Result<(), ConfigError> {
    let invalid = |key: &'static str, problem: String| ConfigError::Invalid { key, problem };
    if config.peer_timeout_ms == 0 || config.peer_timeout_ms > 600_000 {
        return Err(invalid(
            "peer_timeout_ms",
            format!("{} is not between 1 and 600000", config.peer_timeout_ms),
        ));
    }
    if config.peer_attempts == 0 || config.peer_attempts > 10 {
        return Err(invalid(
            "peer_attempts",
            format!("{} is not between 1 and 10", config.peer_attempts),
        ));
    }
    for (i, peer) in config.peers.iter().enumerate() {
        let at =
            |field: &str, problem: &str| invalid("peers", format!("peers[{i}].{field}: {problem}"));
        let prefix = &peer.admdvs_prefix;
        if prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(at(
                "admdvs_prefix",
                &format!("`{prefix}` is not 1 to 6 digits"),
            ));
        }
        if config.platform_admdvs.starts_with(prefix.as_str()) && prefix.len() == 6 {
            return Err(at("admdvs_prefix", "is this platform's own region"));
        }
        if config.peers[..i].iter().any(|p| p.admdvs_prefix == *prefix) {
            return Err(at("admdvs_prefix", &format!("`{prefix}` is listed twice")));
        }
        let rest = peer.url.strip_prefix("http://").unwrap_or_default();
        if rest.is_empty() || peer.url.len() > PEER_TEXT_MAX || rest.contains(char::is_whitespace) {
            return Err(at(
                "url",
                &format!("`{}` is not an http://host:port URL", peer.url),
            ));
        }
        for (field, value) in [("access_key", &peer.access_key), ("secret", &peer.secret)] {
            if value.trim().is_empty() || value.len() > PEER_TEXT_MAX {
                return Err(at(
                    field,
                    &format!("is empty or longer than {PEER_TEXT_MAX} bytes"),
                ));
            }
        }
        if config.peers[..i]
            .iter()
            .any(|p| p.access_key == peer.access_key)
        {
            return Err(at("access_key", "is used by another peer"));
        }
    }
    Ok(())
}

fn number<T: std::str::FromStr>(key: &'static str, value: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Invalid {
        key,
        problem: format!("`{value}` is not a whole number"),
    })
}

fn flag(key: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" | "" => Ok(false),
        other => Err(ConfigError::Invalid {
            key,
            problem: format!("`{other}` is not true or false"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_values() {
        let dir = std::env::temp_dir().join(format!("yibao-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("yibao.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\nauth = \"csb\"\nmax_batch = 64\n",
        )
        .unwrap();
        let env = vec![
            ("YIBAO_MAX_BATCH".to_string(), "32".to_string()),
            ("YIBAO_FUTURE_TOLERANCE_SECS".to_string(), "60".to_string()),
            ("YIBAO_CLOCK_OFFSET_SECS".to_string(), "-86400".to_string()),
            ("HOME".to_string(), "/".to_string()),
        ];
        let config = Config::load(Some(&file), env.into_iter()).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.auth, AuthMode::Csb);
        assert_eq!(config.max_batch, 32);
        assert_eq!(config.future_tolerance_secs, 60);
        assert_eq!(config.clock_offset_secs, -86_400);
        let bad = Config::load(
            None,
            vec![("YIBAO_AUTH".to_string(), "sm3".to_string())].into_iter(),
        );
        assert!(bad.is_err());
        let bad = Config::load(
            None,
            vec![("YIBAO_PLATFORM_ADMDVS".to_string(), "36040".to_string())].into_iter(),
        );
        assert!(bad.is_err());
        let far = i64::MAX.to_string();
        let bad = Config::load(
            None,
            vec![("YIBAO_CLOCK_OFFSET_SECS".to_string(), far)].into_iter(),
        );
        assert!(bad.unwrap_err().to_string().contains("clock_offset_secs"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn regions_are_read_and_checked_naming_the_field() {
        let good = "[[regions]]\nadmdvs = \"360400\"\ndatabase_url = \"postgres://h/jj\"\n\
                    [[regions]]\nadmdvs = \"360100\"\ndatabase_url = \"postgres://h/nc\"\n";
        let config = peers_config(good).unwrap();
        let regions: Vec<&str> = config.regions.iter().map(|r| r.admdvs.as_str()).collect();
        assert_eq!(regions, ["360400", "360100"]);
        let cases = [
            (good.replace("\"360100\"", "\"3601\""), "regions[1].admdvs"),
            (
                good.replace("\"360100\"", "\"360400\""),
                "regions[1].admdvs",
            ),
            (
                good.replace("postgres://h/jj", " "),
                "regions[0].database_url",
            ),
        ];
        for (text, field) in cases {
            let error = peers_config(&text).unwrap_err().to_string();
            assert!(error.contains(field), "{field}: {error}");
        }
        let unknown = peers_config(&good.replace("database_url", "database")).unwrap_err();
        assert!(unknown.to_string().contains("database"), "{unknown}");
    }

    fn peers_config(peers: &str) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!(
            "yibao-peers-{}-{}",
            std::process::id(),
            peers.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("yibao.toml");
        std::fs::write(&file, peers).unwrap();
        let config = Config::load(Some(&file), std::iter::empty());
        let _ = std::fs::remove_dir_all(dir);
        config
    }

    #[test]
    fn peers_are_read_and_checked_naming_the_field() {
        let good = "[[peers]]\nadmdvs_prefix = \"44\"\nurl = \"http://127.0.0.1:18090\"\n\
                    access_key = \"ak\"\nsecret = \"s\"\n";
        let config = peers_config(good).unwrap();
        assert_eq!(config.peers.len(), 1);
        assert_eq!(config.peers[0].admdvs_prefix, "44");
        let cases = [
            (good.replace("\"44\"", "\"4a\""), "peers[0].admdvs_prefix"),
            (
                good.replace("http://127.0.0.1:18090", "ftp://x"),
                "peers[0].url",
            ),
            (good.replace("\"ak\"", "\"\""), "peers[0].access_key"),
            (good.replace("\"s\"", "\" \""), "peers[0].secret"),
            (format!("{good}{good}"), "peers[1].admdvs_prefix"),
            (format!("peer_attempts = 0\n{good}"), "peer_attempts"),
        ];
        for (text, field) in cases {
            let error = peers_config(&text).unwrap_err().to_string();
            assert!(error.contains(field), "{field}: {error}");
        }
        let unknown = peers_config(&good.replace("secret", "secrett")).unwrap_err();
        assert!(unknown.to_string().contains("secrett"), "{unknown}");
    }
}
