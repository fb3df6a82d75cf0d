//! The board twins next to the published figures they are built on (the table in
//! `boards/README.md`, "Board twins"): idle and loaded board power, and ncnn's published
//! MobileNet latencies on the same SoCs.
//!
//! The twins model tract; ncnn is an optimised runtime. DESIGN.md measured tract 1.9–3.6×
//! slower than onnxruntime on the host, so a twin predicts ncnn's latency with its compute
//! rates and per-operator overhead scaled by [`OPTIMISED_SPEEDUP`] (the bandwidths stay: they
//! are the hardware's). MobileNet v1/v2 are built in code with the published layer tables
//! (Howard et al. 2017; Sandler et al. 2018), random weights, 1 × 3 × 224 × 224 input.
//!
//! Run: `cargo bench -p wattevo-agent --bench twin_published`.

use wattevo_agent::runner::read_facts;
use wattevo_agent::sim::onnx::{ConvSpec, OnnxGraph};
use wattevo_agent::sim::twin::{ModelEstimate, ModelFacts, Twin, TwinFile};
use wattevo_proto::BoardProfile;

/// Optimised runtime (ncnn, onnxruntime) over tract, DESIGN.md (lower end of 1.9–3.6×).
const OPTIMISED_SPEEDUP: f64 = 1.9;

fn mobilenet_v1() -> Vec<u8> {
    let mut g = OnnxGraph::new("mobilenet_v1", &[1, 3, 224, 224], 1);
    let x = g.input();
    let mut x = g.conv(&x, ConvSpec { input: 3, output: 32, kernel: 3, stride: 2, group: 1 });
    x = g.unary("Relu", &x);
    let blocks = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2)];
    let tail = [(512, 512, 1); 5].into_iter().chain([(512, 1024, 2), (1024, 1024, 1)]);
    for (input, output, stride) in blocks.into_iter().chain(tail) {
        x = g.conv(&x, ConvSpec::depthwise(input, 3, stride));
        x = g.unary("Relu", &x);
        x = g.conv(&x, ConvSpec::dense(input, output, 1));
        x = g.unary("Relu", &x);
    }
    x = g.unary("GlobalAveragePool", &x);
    x = g.flatten(&x);
    x = g.dense(&x, 1024, 1000);
    g.finish(&x)
}

fn mobilenet_v2() -> Vec<u8> {
    let mut g = OnnxGraph::new("mobilenet_v2", &[1, 3, 224, 224], 2);
    let x = g.input();
    let mut x = g.conv(&x, ConvSpec { input: 3, output: 32, kernel: 3, stride: 2, group: 1 });
    x = g.unary("Relu", &x);
    let mut channels = 32;
    // (expansion t, output c, repeats n, first stride s): Sandler et al. 2018, table 2.
    for (t, c, n, s) in
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            let hidden = channels * t;
            let mut y = x.clone();
            if t != 1 {
                y = g.conv(&y, ConvSpec::dense(channels, hidden, 1));
                y = g.unary("Relu", &y);
            }
            y = g.conv(&y, ConvSpec::depthwise(hidden, 3, stride));
            y = g.unary("Relu", &y);
            y = g.conv(&y, ConvSpec::dense(hidden, c, 1));
            x = if stride == 1 && channels == c { g.node("Add", &[&x, &y], vec![]) } else { y };
            channels = c;
        }
    }
    x = g.conv(&x, ConvSpec::dense(320, 1280, 1));
    x = g.unary("Relu", &x);
    x = g.unary("GlobalAveragePool", &x);
    x = g.flatten(&x);
    x = g.dense(&x, 1280, 1000);
    g.finish(&x)
}

fn twin(name: &str, profile_toml: &str, threads: u16) -> Twin {
    let profile: BoardProfile = match toml::from_str(profile_toml) {
        Ok(profile) => profile,
        Err(error) => panic!("{name}: {error}"),
    };
    let soc = TwinFile::bundled(name).unwrap_or_else(|| panic!("no bundled twin {name}"));
    let board = profile.power_model.unwrap_or_else(|| panic!("{name}: no [power_model]"));
    Twin { soc, board, threads }
}

/// The twin as an optimised runtime would run on the same SoC.
fn optimised(mut twin: Twin) -> Twin {
    let t = &mut twin.soc.time;
    t.conv_gmac_s *= OPTIMISED_SPEEDUP;
    t.depthwise_gmac_s *= OPTIMISED_SPEEDUP;
    t.matmul_gmac_s *= OPTIMISED_SPEEDUP;
    t.elementwise_gop_s *= OPTIMISED_SPEEDUP;
    t.op_overhead_us /= OPTIMISED_SPEEDUP;
    twin
}

fn facts(onnx: &[u8]) -> ModelFacts {
    match read_facts(onnx, None) {
        Ok(facts) => facts,
        Err(error) => panic!("{error}"),
    }
}

fn row(figure: &str, source: &str, published: f64, predicted: f64, unit: &str) {
    let error = 100.0 * (predicted - published) / published;
    println!("| {figure} | {source} | {published:.1} {unit} | {predicted:.1} {unit} | {error:+.0} % |");
}

fn main() {
    let (v1, v2) = (facts(&mobilenet_v1()), facts(&mobilenet_v2()));
    println!(
        "MobileNet v1: {:.0} M MACs, v2: {:.0} M MACs (twin's reading of the graphs)",
        v1.macs() as f64 / 1e6,
        v2.macs() as f64 / 1e6
    );
    println!("| figure | source | published | twin | error |\n| --- | --- | --- | --- | --- |");
    let boards = [
        ("pi4b", include_str!("../../boards/sim.toml"), [145.94, 110.10, 72.08, 72.62]),
        ("pizero2w", include_str!("../../boards/pizero2w.toml"), [393.94, 274.23, 163.19, 147.39]),
    ];
    for (name, toml, [v1_1t, v2_1t, v1_4t, v2_4t]) in boards {
        let ncnn = "ncnn benchncnn, Tencent/ncnn benchmark/README.md";
        let ms = |threads, f: &ModelFacts| {
            1e3 * ModelEstimate::of(&optimised(twin(name, toml, threads)).estimate(f)).latency_s
        };
        row(&format!("{name}: MobileNet v1, 1 thread"), ncnn, v1_1t, ms(1, &v1), "ms");
        row(&format!("{name}: MobileNet v2, 1 thread"), ncnn, v2_1t, ms(1, &v2), "ms");
        row(&format!("{name}: MobileNet v1, 4 threads"), ncnn, v1_4t, ms(4, &v1), "ms");
        row(&format!("{name}: MobileNet v2, 4 threads"), ncnn, v2_4t, ms(4, &v2), "ms");
    }
    for (name, toml, idle, full) in [
        ("pi4b", include_str!("../../boards/sim.toml"), 2.7, 6.4),
        ("pi5", include_str!("../../boards/pi5.toml"), 2.75, 7.0),
        ("pizero2w", include_str!("../../boards/pizero2w.toml"), 0.6, 2.5),
    ] {
        let t = twin(name, toml, 4);
        row(&format!("{name}: idle"), "MEASUREMENT.md anchors", idle, t.board.idle_w, "W");
        let full_load = t.board.idle_w + f64::from(t.soc.soc.cores) * t.board.core_w;
        row(&format!("{name}: all cores busy"), "MEASUREMENT.md anchors", full, full_load, "W");
        let cnn = facts(&wattevo_agent::sim::onnx::build_cnn(
            &wattevo_agent::sim::onnx::OnnxCnn { channels: 32, side: 28, classes: 10 },
            7,
        ));
        let one = ModelEstimate::of(&twin(name, toml, 1).estimate(&cnn)).power_w();
        println!("| {name}: CNN 32ch on 28×28, 1 thread | (twin) | — | {one:.2} W | — |");
    }
}
