//! Link benchmark: spawns the simulated board (the real agent on a pseudo-terminal) and prints
//! the upload efficiency (payload bytes / bytes on the wire) of a 1 MB model and the round-trip
//! time of a ping (median and p99 of 1000).
//!
//! Run: `cargo build -p wattevo-agent && cargo bench -p wattevo --bench link`.

use std::time::Duration;

use wattevo::board::SimAgent;
use wattevo::board::profiles::load_profile;

fn main() -> anyhow::Result<()> {
    let profile = load_profile("sim")?;
    let mut sim = SimAgent::spawn(&profile, None, "sim")?;
    let mut client = sim.connect(Duration::from_secs(5))?;

    // 1 MB of seeded bytes: the agent refuses it as ONNX at commit, after every chunk went over.
    let mut state = 0x1234_5678_9abc_def0_u64;
    let model: Vec<u8> = (0..1_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let sent_before = client.stats().bytes_sent;
    let started = std::time::Instant::now();
    let outcome = client.upload(&model);
    let upload_s = started.elapsed().as_secs_f64();
    let wire_bytes = client.stats().bytes_sent - sent_before;
    println!(
        "upload 1 MB: {} payload bytes, {wire_bytes} bytes on the wire, efficiency {:.4}, {:.2} s ({:.1} MB/s); commit: {}",
        model.len(),
        model.len() as f64 / wire_bytes as f64,
        upload_s,
        model.len() as f64 / upload_s / 1e6,
        match &outcome {
            Ok(_) => "accepted".to_owned(),
            Err(err) => format!("refused as expected ({err})"),
        }
    );

    let mut rtts_us: Vec<f64> = Vec::with_capacity(1000);
    for nonce in 0..1000u32 {
        rtts_us.push(client.ping(nonce)?.as_secs_f64() * 1e6);
    }
    rtts_us.sort_by(f64::total_cmp);
    println!(
        "ping over the pty (1000): median {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        rtts_us[500], rtts_us[989], rtts_us[999]
    );
    Ok(())
}
