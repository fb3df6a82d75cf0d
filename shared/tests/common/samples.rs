//! One fixed example of every message variant, shared by the golden-byte and corpus tests.
//!
//! Values are chosen to exercise the encoding: zero bytes (COBS), multi-byte varints, signed
//! and special floats, empty and non-ASCII strings.

use wattevo_proto::*;

/// A hash with every byte distinct, including a zero byte (COBS must escape it).
pub fn hash() -> ModelHash {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = i as u8;
    }
    ModelHash(bytes)
}

/// One envelope per `HostToDevice` variant, in declaration order.
pub fn host_messages() -> Vec<Envelope<HostToDevice>> {
    let msgs = vec![
        HostToDevice::Hello(HelloRequest { protocol_version: 1, host_version: "0.1.0".into() }),
        HostToDevice::Ping(PingRequest { nonce: 7 }),
        HostToDevice::UploadBegin(UploadBeginRequest { hash: hash(), total_bytes: 100_000, chunk_bytes: 2048 }),
        HostToDevice::UploadChunk(UploadChunkRequest { hash: hash(), index: 3, bytes: vec![0x00, 0x01, 0xfe, 0xff] }),
        HostToDevice::UploadCommit(UploadCommitRequest { hash: hash(), crc32: 0xcbf4_3926 }),
        HostToDevice::Measure(MeasureRequest {
            hash: hash(),
            input_shape: vec![1, 1, 28, 28],
            input_seed: 42,
            // The defaults: the golden bytes pin them too (warm-up 10, 10 runs, 2000 ms windows,
            // 5..=20 repetitions, 2 % CI, 2000 ms idle, 5 % idle mismatch).
            protocol: MeasureProtocol::default(),
            thermal_wait_ms: 30_000,
        }),
        HostToDevice::ReadSensor(ReadSensorRequest { duration_ms: 500 }),
        HostToDevice::Explain(ExplainRequest { hash: hash(), input_shape: vec![1, 1, 28, 28] }),
        HostToDevice::Calibrate(CalibrateRequest { protocol: MeasureProtocol::default() }),
    ];
    msgs.into_iter().enumerate().map(|(i, msg)| Envelope { seq: i as u32 + 1, msg }).collect()
}

fn sensor_info() -> SensorInfo {
    SensorInfo {
        kind: SensorKind::EmulatedIna219,
        i2c_bus: 1,
        i2c_address: 0x40,
        shunt_ohms: 0.01,
        max_current_a: 4.0,
        current_lsb_a: 0.000_122_070_31,
        calibration: 33_554,
        adc_mode: "12bit x1".into(),
        bus_voltage_v: 5.1,
    }
}

fn cpu_info() -> CpuInfo {
    CpuInfo {
        arch: "aarch64".into(),
        model: "Cortex-A72".into(),
        cores: 4,
        kernel: "6.6.51+rpt-rpi-v8".into(),
        governor: String::new(),
        tract_threads: 1,
    }
}

fn measurement() -> Measurement {
    let stats = |mean: f64, std: f64, ci95: f64| RepStats { mean, std, ci95 };
    Measurement {
        hash: hash(),
        sensor: SensorKind::EmulatedIna219,
        idle_before_w: 2.7,
        idle_after_w: 2.75,
        idle_power_w: 2.725,
        idle_mismatch: false,
        total_power_w: stats(3.6, 0.01, 0.0124),
        dynamic_power_w: stats(0.875, 0.01, 0.0124),
        energy_per_inference_j: stats(0.000_36, 0.0, 0.0),
        dynamic_energy_per_inference_j: stats(0.000_087_5, -0.0, 1.0e-9),
        latency_mean_us: 100.0,
        latency_p50_us: 98.5,
        latency_p99_us: 140.25,
        inferences: 100_000,
        repetitions: 5,
        stop_reason: StopReason::CiReached,
        samples: 10_000,
        sample_rate_hz: 1000.0,
        missed_deadlines: 0,
        cpu_utilisation_cores: 1.0,
        temperature_start_c: 45.5,
        temperature_end_c: f32::NAN,
        throttled_flags: u32::MAX,
    }
}

/// One envelope per `DeviceToHost` variant, in declaration order.
pub fn device_messages() -> Vec<Envelope<DeviceToHost>> {
    let msgs = vec![
        DeviceToHost::Hello(HelloResponse {
            protocol_version: 1,
            agent_version: "0.1.0".into(),
            tract_version: "0.23.9".into(),
            board_name: "sim".into(),
            sensor: sensor_info(),
            cpu: cpu_info(),
            max_model_bytes: MAX_MODEL_BYTES,
            max_chunk_bytes: MAX_CHUNK_BYTES,
            twin: "twin pi4b v1".into(),
        }),
        DeviceToHost::Pong(PingResponse { nonce: 7 }),
        DeviceToHost::UploadStatus(UploadStatusResponse {
            hash: hash(),
            state: UploadState::Receiving { next_chunk: 2, received: 130 },
        }),
        DeviceToHost::ChunkAck(ChunkAckResponse { hash: hash(), index: 3 }),
        DeviceToHost::Committed(CommittedResponse {
            hash: hash(),
            load_us: 12_345,
            input_shape: vec![1, 1, 28, 28],
            output_shape: vec![1, 10],
        }),
        DeviceToHost::Measurement(measurement()),
        DeviceToHost::SensorReading(SensorReadingResponse {
            sensor: SensorKind::Ina219,
            bus_voltage_v: 5.08,
            current_a: 0.54,
            power_w: 2.7432,
            samples: 480,
            sample_rate_hz: 960.0,
        }),
        DeviceToHost::Error(ErrorResponse {
            error: WireError::VersionMismatch { agent: 1, host: 2 },
            detail: "protocol 2 ≠ 1".into(),
        }),
        DeviceToHost::Explanation(Explanation {
            hash: hash(),
            twin: "twin pi4b v1".into(),
            threads: 1,
            ops: vec![OpCost {
                name: "conv".into(),
                kind: "conv".into(),
                macs: 1000,
                dram_bytes: 0,
                time_us: 2.5,
                energy_uj: 9.25,
                dynamic_energy_uj: 2.5,
            }],
        }),
        DeviceToHost::Calibration(CalibrationReport {
            prior: "twin pi4b v1".into(),
            twin_toml: "[twin]".into(),
            power_model: PowerModelSettings {
                supply_v: 5.0,
                idle_w: 2.5,
                core_w: 1.0,
                dram_nj_per_byte: 0.25,
                noise_w: 0.0,
                seed: 1,
                twin: None,
            },
            rows: vec![CalibrationRow {
                model: "tiny".into(),
                class: "tiny".into(),
                measured_latency_us: 10.0,
                fitted_latency_us: 10.5,
                measured_dynamic_uj: 1.0,
                fitted_dynamic_uj: 1.0,
            }],
        }),
    ];
    msgs.into_iter().enumerate().map(|(i, msg)| Envelope { seq: i as u32 + 1, msg }).collect()
}
