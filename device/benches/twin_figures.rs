//! The simulated Pi 4 B's figures, measured end to end (twin, power model, emulated INA219,
//! real driver and sampler, `boards/sim.toml`'s protocol) on the twin's virtual clock, with the
//! host time each measurement took. Every figure printed is SIMULATED.
//!
//! Run: `cargo bench -p wattevo-agent --bench twin_figures`.

use std::time::Instant;

use wattevo_agent::runner::load_model;
use wattevo_agent::sim::SimBoard;
use wattevo_agent::sim::onnx::{OnnxCnn, build_cnn, build_mlp};
use wattevo_proto::BoardProfile;

fn profile(threads: u16) -> BoardProfile {
    let mut profile: BoardProfile = match toml::from_str(include_str!("../../boards/sim.toml")) {
        Ok(profile) => profile,
        Err(error) => panic!("boards/sim.toml: {error}"),
    };
    profile.runtime.tract_threads = threads;
    profile
}

/// 1 × 1024 → `hidden` → 10.
fn mlp(hidden: usize) -> Vec<u8> {
    build_mlp(1024, hidden, 10, 5)
}

fn main() {
    println!("twin_figures: simulated Pi 4 B (boards/sim.toml, twin pi4b), default protocol; all figures SIMULATED");
    println!(
        "{:<22} {:>3} {:>10} {:>10} {:>9} {:>9} {:>13} {:>13} {:>9} {:>8}",
        "model", "thr", "MACs", "weights B", "latency", "power W", "dyn E/inf J", "dyn J per MAC", "board s", "host s"
    );
    let cnn = |channels, classes| build_cnn(&OnnxCnn { channels, side: 28, classes }, 7);
    let models = [
        ("cnn 8ch, 10 classes", cnn(8, 10)),
        ("cnn 16ch, 10 classes", cnn(16, 10)),
        ("cnn 32ch, 10 classes", cnn(32, 10)),
        ("cnn 16ch, 100 classes", cnn(16, 100)),
        ("mlp 1024-128-10", mlp(128)),
        ("mlp 1024-2048-10", mlp(2048)),
    ];
    for threads in [1u16, 4] {
        for (name, onnx) in &models {
            let mut board = match SimBoard::new(&profile(threads)) {
                Ok(board) => board,
                Err(error) => panic!("{error}"),
            };
            let model = match load_model(onnx, None) {
                Ok(model) => model,
                Err(error) => panic!("{error}"),
            };
            let req = board.request(&model.input_shape);
            let started = Instant::now();
            let board_started = board.clock().now();
            let m = match board.measure(&model, &req) {
                Ok(m) => m,
                Err(error) => panic!("{error}"),
            };
            let host_s = started.elapsed().as_secs_f64();
            let board_s = board.clock().now().duration_since(board_started).as_secs_f64();
            let macs = model.facts.macs() as f64;
            println!(
                "{name:<22} {threads:>3} {macs:>10.0} {:>10} {:>7.3}ms {:>9.3} {:>13.3e} {:>13.3e} {board_s:>9.2} {host_s:>8.2}",
                model.facts.weight_bytes(),
                m.latency_mean_us / 1000.0,
                m.total_power_w.mean,
                m.dynamic_energy_per_inference_j.mean,
                m.dynamic_energy_per_inference_j.mean / macs,
            );
        }
    }
}
