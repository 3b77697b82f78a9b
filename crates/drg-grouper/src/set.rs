//! A folder of rule versions (`chs-drg-1.1/`, `chs-drg-1.0/`, `zj-drg-2022/`, or a region's own),
//! each loaded on first use and shared by all threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::compile::LoadOptions;
use crate::error::LoadError;
use crate::grouper::Grouper;

/// Upstream grouper ids and the folder each names.
const ALIASES: [(&str, &str); 3] = [
    ("chs_drg_11", "chs-drg-1.1"),
    ("chs_drg_10", "chs-drg-1.0"),
    ("zhejiang_2022", "zj-drg-2022"),
];

/// The folder name a version id stands for (`chs_drg_11` → `chs-drg-1.1`); other names are folders.
pub fn version_folder(version: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == version)
        .map_or(version, |(_, folder)| folder)
}

/// Why a version could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VersionError {
    #[error("unknown rule version `{version}` (available: {available})")]
    Unknown { version: String, available: String },
    #[error("no rule version given and no default (use --version)")]
    NoDefault,
    #[error("rule version `{version}` failed to load: {source}")]
    Load {
        version: String,
        source: Arc<LoadError>,
    },
}

struct Slot {
    folder: String,
    path: PathBuf,
    /// Options for this version only, set with [`GrouperSet::configure`].
    options: Option<LoadOptions>,
    grouper: OnceLock<Result<Grouper, Arc<LoadError>>>,
}

impl Slot {
    fn new(folder: String, path: PathBuf) -> Slot {
        Slot {
            folder,
            path,
            options: None,
            grouper: OnceLock::new(),
        }
    }
}

/// The rule versions under one folder.
pub struct GrouperSet {
    slots: Vec<Slot>,
    default: Option<String>,
    options: LoadOptions,
}

impl GrouperSet {
    /// Opens `root`: either a folder of version folders (each with a `rules.json`) or one version
    /// folder itself. `default` is the version for cases that name none; `options` apply to every
    /// version not given its own with [`GrouperSet::configure`].
    pub fn open(
        root: &Path,
        default: Option<&str>,
        options: LoadOptions,
    ) -> Result<GrouperSet, LoadError> {
        let mut slots = Vec::new();
        if root.join("rules.json").is_file() {
            let folder = root.file_name().map_or_else(
                || root.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            slots.push(Slot::new(folder, root.to_path_buf()));
        } else {
            let entries = std::fs::read_dir(root).map_err(|source| LoadError::Io {
                path: root.to_path_buf(),
                source,
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.join("rules.json").is_file() {
                    slots.push(Slot::new(
                        entry.file_name().to_string_lossy().into_owned(),
                        path,
                    ));
                }
            }
            slots.sort_by(|a, b| a.folder.cmp(&b.folder));
        }
        let default = match default {
            Some(version) => Some(version_folder(version).to_string()),
            None if slots.len() == 1 => Some(slots[0].folder.clone()),
            None => None,
        };
        Ok(GrouperSet {
            slots,
            default,
            options,
        })
    }

    /// Gives one version its own load options (e.g. its 歧义组 switch); takes effect at its next load.
    pub fn configure(&mut self, version: &str, options: LoadOptions) -> Result<(), VersionError> {
        let index = self.slot_index(version)?;
        let slot = &mut self.slots[index];
        slot.options = Some(options);
        slot.grouper = OnceLock::new();
        Ok(())
    }

    /// Folder names of the versions found.
    pub fn versions(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|s| s.folder.as_str())
    }

    fn slot_index(&self, version: &str) -> Result<usize, VersionError> {
        let folder = version_folder(version);
        self.slots
            .iter()
            .position(|s| s.folder == folder)
            .ok_or_else(|| VersionError::Unknown {
                version: version.to_string(),
                available: self.versions().collect::<Vec<_>>().join(", "),
            })
    }

    /// The grouper for `version` (an alias or folder name), or the default when `None`.
    pub fn get(&self, version: Option<&str>) -> Result<&Grouper, VersionError> {
        let version = match version {
            Some(v) => v,
            None => self.default.as_deref().ok_or(VersionError::NoDefault)?,
        };
        let slot = &self.slots[self.slot_index(version)?];
        let options = slot.options.as_ref().unwrap_or(&self.options);
        let loaded = slot
            .grouper
            .get_or_init(|| Grouper::load(&slot.path, options).map_err(Arc::new));
        loaded.as_ref().map_err(|source| VersionError::Load {
            version: slot.folder.clone(),
            source: Arc::clone(source),
        })
    }
}
