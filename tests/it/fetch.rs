//! `actbench fetch` against HTTP servers on 127.0.0.1 that serve the real
//! MNIST files (gzipped, as the canonical mirrors do): a good one, one that
//! serves a corrupt file, and one that drops the connection half-way
//! through every file (the download must resume with a range request).

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::common::{TempDir, actbench};

const NAMES: [&str; 4] =
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Good,
    /// One byte of every file flipped.
    Corrupt,
    /// The first response for each file stops half-way and closes the connection.
    DropHalfway,
    /// The training images are a small gzip file that inflates to 1 GiB.
    Bomb,
    /// The training images never end (no length, zeros until the client hangs up).
    Endless,
}

/// A request's path and its Range header.
type Request = (String, Option<String>);

struct Server {
    url: String,
    /// (path, Range header) of every request.
    requests: Arc<Mutex<Vec<Request>>>,
}

/// The MNIST files gzipped, once per test binary.
fn gzipped() -> &'static HashMap<String, Vec<u8>> {
    static FILES: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("mnist");
        NAMES
            .iter()
            .map(|name| {
                let bytes = fs::read(dir.join(name)).unwrap_or_else(|e| {
                    panic!("{}: {e}: run `scripts/fetch-data.sh mnist` (scripts/setup.sh does)", dir.display())
                });
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&bytes).unwrap();
                (format!("/{name}.gz"), gz.finish().unwrap())
            })
            .collect()
    })
}

fn serve(behaviour: Behaviour) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    let files = gzipped();
    std::thread::spawn(move || {
        let mut dropped: Vec<String> = Vec::new();
        for stream in listener.incoming().flatten() {
            let (path, range) = read_request(&stream);
            seen.lock().unwrap().push((path.clone(), range.clone()));
            let Some(body) = files.get(&path) else {
                respond(stream, "404 Not Found", &[], b"");
                continue;
            };
            let mut body = body.clone();
            let images = path == "/train-images-idx3-ubyte.gz";
            if behaviour == Behaviour::Bomb && images {
                body = crate::common::gzip_bomb().to_vec();
            }
            if behaviour == Behaviour::Endless && images {
                let mut stream = stream;
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                let zeros = vec![0u8; 1 << 16];
                while stream.write_all(&zeros).is_ok() {}
                continue;
            }
            if behaviour == Behaviour::Corrupt {
                let middle = body.len() / 2;
                body[middle] ^= 0xff;
            }
            let start = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|r| r.parse::<usize>().ok());
            let total = body.len();
            if behaviour == Behaviour::DropHalfway && !dropped.contains(&path) {
                dropped.push(path);
                let mut stream = stream;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body[..total / 2]);
                continue; // dropping the stream closes the connection mid-body
            }
            match start {
                Some(s) if s < total => {
                    let range = format!("Content-Range: bytes {s}-{}/{total}", total - 1);
                    respond(stream, "206 Partial Content", &[&range], &body[s..]);
                }
                Some(_) => respond(stream, "416 Range Not Satisfiable", &[], b""),
                None => respond(stream, "200 OK", &[], &body),
            }
        }
    });
    Server { url, requests }
}

fn read_request(stream: &TcpStream) -> (String, Option<String>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_string());
        }
    }
    (path, range)
}

fn respond(mut stream: TcpStream, status: &str, headers: &[&str], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn fetch(data_dir: &Path, mirrors: &[&str]) -> std::process::Output {
    let mut cmd = actbench();
    cmd.args(["fetch", "mnist", "--data-dir", data_dir.to_str().unwrap()]);
    for m in mirrors {
        cmd.args(["--mirror", m]);
    }
    cmd.output().unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file in the dataset folder, hidden ones included.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                all.push(entry.path());
            }
        }
    }
    all.sort();
    all
}

fn assert_identical_to_the_real_files(data_dir: &Path) {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("mnist");
    for name in NAMES {
        let got = fs::read(data_dir.join("mnist").join(name)).unwrap();
        assert!(got == fs::read(real.join(name)).unwrap(), "{name} differs from the real file");
    }
    let files = listing(&data_dir.join("mnist"));
    assert_eq!(files.len(), 4, "only the four files, no partial download left: {files:?}");
}

#[test]
fn fetches_verifies_and_skips_what_is_there() {
    let server = serve(Behaviour::Good);
    let dir = TempDir::new();
    let out = fetch(dir.path(), &[&server.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_identical_to_the_real_files(dir.path());
    assert!(stderr(&out).contains("checksum ok"), "{}", stderr(&out));

    let requests = server.requests.lock().unwrap().len();
    let again = fetch(dir.path(), &[&server.url]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 files written, 4 already there"));
    assert_eq!(server.requests.lock().unwrap().len(), requests, "nothing downloaded the second time");
}

#[test]
fn a_dropped_connection_is_resumed_with_a_range_request() {
    let server = serve(Behaviour::DropHalfway);
    let dir = TempDir::new();
    let out = fetch(dir.path(), &[&server.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_identical_to_the_real_files(dir.path());
    let requests = server.requests.lock().unwrap().clone();
    for name in NAMES {
        let path = format!("/{name}.gz");
        let half = gzipped()[&path].len() / 2;
        let ranges: Vec<_> = requests.iter().filter(|(p, _)| *p == path).map(|(_, r)| r.clone()).collect();
        assert_eq!(ranges, vec![None, Some(format!("bytes={half}-"))], "{name}: one broken request, one resumed");
    }
}

#[test]
fn a_corrupt_file_is_rejected_and_nothing_is_written() {
    let server = serve(Behaviour::Corrupt);
    let dir = TempDir::new();
    let out = fetch(dir.path(), &[&server.url]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let last = stderr(&out).trim().lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("Error:") && last.contains("corrupt") && last.contains(&server.url), "{last}");
    assert!(!stderr(&out).contains("panicked"));
    assert!(listing(&dir.path().join("mnist")).is_empty(), "no file may be left: {:?}", listing(dir.path()));
}

#[test]
fn the_next_mirror_is_tried_when_one_fails() {
    let corrupt = serve(Behaviour::Corrupt);
    let good = serve(Behaviour::Good);
    // A port nobody listens on: connection refused.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let dir = TempDir::new();
    let out = fetch(dir.path(), &[&dead, &corrupt.url, &good.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_identical_to_the_real_files(dir.path());
}

#[test]
fn a_bomb_or_an_endless_download_is_cut_off_at_what_the_file_can_hold() {
    for (behaviour, said) in [
        (Behaviour::Bomb, "inflates to more than 47040016 bytes"),
        (Behaviour::Endless, "more than the 47575952 this file can have"),
    ] {
        let server = serve(behaviour);
        let dir = TempDir::new();
        let out = fetch(dir.path(), &[&server.url]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let last = stderr(&out).trim().lines().last().unwrap_or_default().to_string();
        assert!(last.starts_with("Error:") && last.contains(said), "{last}");
        assert!(!last.contains("partial download"), "nothing is kept: {last}");
        assert!(listing(&dir.path().join("mnist")).is_empty(), "no file may be left: {:?}", listing(dir.path()));
    }
}

#[test]
fn a_mirror_that_cannot_be_reached_is_not_said_to_leave_a_partial_download() {
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let dir = TempDir::new();
    let out = fetch(dir.path(), &[&dead]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let last = stderr(&out).trim().lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("Error: could not fetch") && !last.contains("partial"), "{last}");
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

#[test]
fn unknown_and_built_in_datasets_are_one_line_errors() {
    for (name, want) in [("imagenet", "unknown dataset `imagenet`"), ("digits", "unknown dataset `digits`")] {
        let out = actbench().args(["fetch", name]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(want) && stderr(&out).trim().lines().count() == 1, "{}", stderr(&out));
    }
}
