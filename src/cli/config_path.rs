//! Where a config named on the command line is: the path as given, else a
//! bare name looked up in `configs/`.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::input::InputError;

/// Folder searched for a config given by bare name.
const CONFIG_DIR: &str = "configs";

/// `given` as is if it exists; else, for a bare name, `configs/<name>` (with
/// `.toml` added when missing).
pub(super) fn find_config(given: &Path) -> anyhow::Result<PathBuf> {
    match crate::input::not_a_file(given) {
        Ok(()) => return Ok(given.to_path_buf()),
        // A folder may share a bare name with a file of configs/: looked up below.
        Err(InputError::Missing(_) | InputError::NotFile(_, "a folder")) => {}
        // A FIFO, a device, a link loop: what it is, not "not found".
        Err(other) => bail!("config {other}: give a path to a .toml file"),
    }
    let bare = given.components().count() == 1;
    let folder = |given: &Path| {
        anyhow::anyhow!(
            "config '{}' is a folder, not a file: give the path of a .toml file (e.g. {CONFIG_DIR}/tiny.toml)",
            given.display()
        )
    };
    if bare {
        let mut candidate = Path::new(CONFIG_DIR).join(given);
        if candidate.is_file() {
            return Ok(candidate);
        }
        if candidate.extension().is_none() {
            candidate.set_extension("toml");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        if given.is_dir() {
            return Err(folder(given));
        }
        bail!(
            "config '{}' not found (looked for ./{0} and {CONFIG_DIR}/{0}): give a path to a .toml file",
            given.display()
        );
    }
    if given.is_dir() {
        return Err(folder(given));
    }
    bail!("config '{}' not found: give a path to a .toml file", given.display())
}
