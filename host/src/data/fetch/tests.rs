//! Download tests against a tiny HTTP server on 127.0.0.1 (no outside network needed).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use super::*;
use crate::data::idx_spec::IdxRole;

/// Serves `routes` (path → body; anything else is a 404) on a local port until the test ends.
fn serve(routes: Vec<(String, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let (status, body) = match routes.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => ("200 OK", body.clone()),
                None => ("404 Not Found", b"not here".to_vec()),
            };
            let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
        }
    });
    format!("http://{addr}")
}

/// An `IdxFile` whose published checksum and size are those of `content`.
fn file_for(name: &'static str, content: &[u8]) -> IdxFile {
    IdxFile {
        role: IdxRole::TrainLabels,
        name,
        gz_md5: Box::leak(md5_hex(content).into_boxed_str()),
        gz_bytes: content.len() as u64,
        raw_md5: "",
        raw_bytes: 0,
    }
}

#[test]
fn downloads_and_verifies_falling_back_to_the_second_mirror() {
    let content = b"pretend gzip bytes".to_vec();
    let base = serve(vec![("/second/a-file.gz".to_owned(), content.clone())]);
    let tmp = tempfile::tempdir().expect("temp dir");
    let (first, second) = (format!("{base}/first/"), format!("{base}/second/"));
    let outcomes = fetch_files(&[file_for("a-file", &content)], &[&first, &second], tmp.path()).expect("second mirror");
    assert!(outcomes[0].downloaded);
    assert_eq!(outcomes[0].url.as_deref(), Some(format!("{second}a-file.gz").as_str()));
    assert_eq!(std::fs::read(tmp.path().join("a-file.gz")).expect("written"), content);
    assert!(!tmp.path().join("a-file.gz.part").exists());
}

#[test]
fn refuses_a_checksum_mismatch_and_leaves_nothing_behind() {
    let base = serve(vec![("/m/b-file.gz".to_owned(), b"tampered".to_vec())]);
    let tmp = tempfile::tempdir().expect("temp dir");
    let mirror = format!("{base}/m/");
    let err = fetch_files(&[file_for("b-file", b"original")], &[&mirror], tmp.path()).expect_err("wrong MD5");
    let message = err.to_string();
    assert!(message.contains("cannot download b-file"), "{message}");
    assert!(message.contains("checksum mismatch") && message.contains("refusing"), "{message}");
    assert!(!tmp.path().join("b-file.gz").exists());
    assert!(!tmp.path().join("b-file.gz.part").exists());
}

#[test]
fn reports_http_errors_per_mirror() {
    let base = serve(Vec::new());
    let tmp = tempfile::tempdir().expect("temp dir");
    let mirror = format!("{base}/none/");
    let err = fetch_files(&[file_for("c-file", b"x")], &[&mirror], tmp.path()).expect_err("404");
    assert!(err.to_string().contains("c-file.gz: http status: 404"), "{err}");
}

#[test]
fn keeps_a_present_file_with_the_right_checksum() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("d-file.gz"), b"already here").expect("write");
    let outcomes = fetch_files(&[file_for("d-file", b"already here")], &[], tmp.path()).expect("no download needed");
    assert!(!outcomes[0].downloaded);
}
